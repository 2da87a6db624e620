/// Writes JSON text byte by byte. The batch route moves a thousand items per request
/// through client and plugin; Foundation's JSONEncoder builds a tree of boxed values
/// per item first, which made encoding the largest cost of both processes.
/// Output matches what JSONEncoder writes for our types, except that `/` is not escaped.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []
    /// Set when a non-finite number was written (as null): JSON cannot hold it.
    public private(set) var wroteNonFiniteNumber = false

    public init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func null() { raw("null") }

    public mutating func bool(_ value: Bool) { value ? raw("true") : raw("false") }

    public mutating func integer<Integer: BinaryInteger>(_ value: Integer) {
        bytes.append(contentsOf: String(value).utf8)
    }

    /// As `JSONValue` encodes numbers: whole ones without ".0".
    public mutating func number(_ value: Double) {
        guard value.isFinite else {
            wroteNonFiniteNumber = true
            return null()
        }
        if value.rounded() == value, abs(value) < 1e15 {
            integer(Int64(value))
        } else {
            bytes.append(contentsOf: "\(value)".utf8)
        }
    }

    public mutating func float(_ value: Float) {
        guard value.isFinite else {
            wroteNonFiniteNumber = true
            return null()
        }
        bytes.append(contentsOf: "\(value)".utf8)
    }

    /// `[e1,e2,...]`, each element written by `element`.
    public mutating func array<Elements: Sequence>(_ elements: Elements, _ element: (inout JSONWriter, Elements.Element) -> Void) {
        bytes.append(UInt8(ascii: "["))
        var first = true
        for value in elements {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            element(&self, value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// An array of floats (an embedding).
    public mutating func floats(_ values: [Float]) { array(values) { $0.float($1) } }

    /// An array of strings.
    public mutating func strings(_ values: [String]) { array(values) { $0.string($1) } }

    /// A string literal: quotes, backslashes and control characters escaped.
    public mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            var start = 0
            for (position, byte) in utf8.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<position]))
                escape(byte)
                start = position + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private mutating func escape(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): raw("\\\"")
        case UInt8(ascii: "\\"): raw("\\\\")
        case 0x0A: raw("\\n")
        case 0x0D: raw("\\r")
        case 0x09: raw("\\t")
        case 0x08: raw("\\b")
        case 0x0C: raw("\\f")
        default:
            let hex = Array("0123456789abcdef".utf8)
            raw("\\u00")
            bytes.append(hex[Int(byte >> 4)])
            bytes.append(hex[Int(byte & 0xF)])
        }
    }

    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let flag): bool(flag)
        case .number(let number): self.number(number)
        case .string(let text): string(text)
        case .array(let array): self.array(array) { $0.value($1) }
        case .object(let object): self.object(object)
        }
    }

    public mutating func object(_ object: [String: JSONValue]) {
        bytes.append(UInt8(ascii: "{"))
        var first = true
        for (key, element) in object {
            if !first { bytes.append(UInt8(ascii: ",")) }
            first = false
            string(key)
            bytes.append(UInt8(ascii: ":"))
            value(element)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// Starts a member of an object: `,"name":` (no comma for the first).
    public mutating func key(_ name: StaticString, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        bytes.append(UInt8(ascii: "\""))
        raw(name)
        raw("\":")
    }

    /// JSON text of an object, or nil for nil or an empty one (an empty propagation is
    /// stored as NULL).
    public static func text(_ object: [String: JSONValue]?) -> String? {
        guard let object, !object.isEmpty else { return nil }
        var writer = JSONWriter()
        writer.object(object)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
