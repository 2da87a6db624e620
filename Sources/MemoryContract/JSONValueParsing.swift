extension JSONValue {
    /// Parses JSON text (RFC 8259, as strict as Foundation's JSONDecoder) with
    /// `JSONReader`: no Foundation boxes and no thrown error per value, which made the
    /// server's strict request bodies cost two full decodes. Nil when it is not JSON.
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> JSONValue? {
        var reader = JSONReader(bytes)
        do throws(JSONSyntaxError) {
            let value = try reader.readValue()
            try reader.finish()
            return value
        } catch {
            return nil
        }
    }
}
