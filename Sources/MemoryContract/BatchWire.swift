import Timestamps

/// The batch route's bodies written with `JSONWriter`: the same JSON the Codable types
/// give, without JSONEncoder's per-item cost.
public enum BatchWire {
    /// `{"items":[...]}`: each item the write's fields (absent ones left out) plus its
    /// namespace. Nil when a number in an item is not finite (JSON cannot hold it).
    public static func request(_ items: [(namespace: String?, write: MemoryWrite)]) -> [UInt8]? {
        var writer = JSONWriter(capacity: items.reduce(16) { $0 + 200 + $1.write.content.utf8.count })
        writer.raw("{\"items\":[")
        for (position, item) in items.enumerated() {
            if position > 0 { writer.raw(",") }
            write(item.write, namespace: item.namespace, into: &writer)
        }
        writer.raw("]}")
        return writer.wroteNonFiniteNumber ? nil : writer.bytes
    }

    static func write(_ write: MemoryWrite, namespace: String?, into writer: inout JSONWriter) {
        writer.raw("{")
        writer.key("content", first: true)
        writer.string(write.content)
        writer.key("kind")
        writer.string(write.kind.rawValue)
        writer.key("source")
        writer.string(write.source.rawValue)
        if let namespace {
            writer.key("namespace")
            writer.string(namespace)
        }
        if let id = write.id {
            writer.key("id")
            writer.string(id)
        }
        if let expiresAt = write.expiresAt {
            writer.key("expires_at")
            writer.string(expiresAt.rfc3339)
        }
        if let propagation = write.propagation {
            writer.key("propagation")
            writer.object(propagation)
        }
        if let pin = write.pin {
            writer.key("pin")
            writer.bool(pin)
        }
        if let embedding = write.embedding {
            writer.key("embedding")
            writer.raw("[")
            for (position, value) in embedding.enumerated() {
                if position > 0 { writer.raw(",") }
                writer.float(value)
            }
            writer.raw("]")
        }
        if let createdAt = write.createdAt {
            writer.key("created_at")
            writer.string(createdAt.rfc3339)
        }
        if let key = write.key {
            writer.key("key")
            writer.string(key)
        }
        if let ifMatchVersion = write.ifMatchVersion {
            writer.key("if_match_version")
            writer.integer(ifMatchVersion)
        }
        if let version = write.version {
            writer.key("version")
            writer.integer(version)
        }
        writer.raw("}")
    }

    /// `{"results":[...]}` as `BatchResponse` encodes it.
    public static func response(_ results: [BatchItemResult]) -> [UInt8] {
        var writer = JSONWriter(capacity: 16 + results.count * 80)
        writer.raw("{\"results\":[")
        for (position, result) in results.enumerated() {
            if position > 0 { writer.raw(",") }
            writer.raw("{")
            writer.key("index", first: true)
            writer.integer(result.index)
            writer.key("id")
            if let id = result.id { writer.string(id) } else { writer.null() }
            writer.key("status")
            writer.string(result.status.rawValue)
            if let error = result.error {
                writer.key("error")
                writer.raw("{")
                writer.key("code", first: true)
                writer.string(error.code.rawValue)
                writer.key("message")
                writer.string(error.message)
                if let details = error.details, !details.isEmpty {
                    writer.key("details")
                    writer.object(details)
                }
                writer.raw("}")
            }
            if let version = result.version {
                writer.key("version")
                writer.integer(version)
            }
            writer.raw("}")
        }
        writer.raw("]}")
        return writer.bytes
    }
}
