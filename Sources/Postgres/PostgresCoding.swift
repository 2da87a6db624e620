import FoundationEssentials
@_exported import Timestamps

/// The database layer's name for `Timestamp` (timestamptz).
public typealias PostgresTimestamp = Timestamp

/// A value that can be sent as a query parameter. Parameters travel in libpq's text
/// format with no declared type, so the server infers each one from the SQL (write
/// `$1::uuid` where the context is ambiguous). `nil` from `postgresText` is SQL NULL.
public protocol PostgresEncodable: Sendable {
    var postgresText: String? { get }
}

/// A value that can be decoded from one result cell in text format.
public protocol PostgresDecodable {
    init(postgresText text: String) throws(PostgresError)
}

extension PostgresError {
    static func decoding(_ text: String, as type: String) -> PostgresError {
        // The value itself is left out: it may be user content.
        PostgresError(kind: .decoding, message: "cannot decode a \(text.utf8.count)-byte database value as \(type)")
    }
}

extension String: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { self }
    public init(postgresText text: String) { self = text }
}

extension Int: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public init(postgresText text: String) throws(PostgresError) {
        guard let value = Int(text) else { throw .decoding(text, as: "Int") }
        self = value
    }
}

extension Int64: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public init(postgresText text: String) throws(PostgresError) {
        guard let value = Int64(text) else { throw .decoding(text, as: "Int64") }
        self = value
    }
}

extension Int32: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { String(self) }
    public init(postgresText text: String) throws(PostgresError) {
        guard let value = Int32(text) else { throw .decoding(text, as: "Int32") }
        self = value
    }
}

extension Double: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { PostgresFloatText.encode(self) }
    public init(postgresText text: String) throws(PostgresError) {
        guard let value = PostgresFloatText.decode(text) else { throw .decoding(text, as: "Double") }
        self = value
    }
}

extension Float: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { PostgresFloatText.encode(Double(self)) }
    public init(postgresText text: String) throws(PostgresError) {
        guard let value = PostgresFloatText.decode(text) else { throw .decoding(text, as: "Float") }
        self = Float(value)
    }
}

extension Bool: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { self ? "t" : "f" }
    public init(postgresText text: String) throws(PostgresError) {
        switch text {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw .decoding(text, as: "Bool")
        }
    }
}

extension UUID: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { uuidString.lowercased() }
    public init(postgresText text: String) throws(PostgresError) {
        guard let value = UUID(uuidString: text) else { throw .decoding(text, as: "UUID") }
        self = value
    }
}

extension PostgresTimestamp: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { rfc3339 }
    public init(postgresText text: String) throws(PostgresError) {
        guard let value = PostgresTimestamp(rfc3339: text) else { throw .decoding(text, as: "timestamptz") }
        self = value
    }
}

extension Date: PostgresEncodable, PostgresDecodable {
    public var postgresText: String? { PostgresTimestamp(self).rfc3339 }
    public init(postgresText text: String) throws(PostgresError) {
        self = try PostgresTimestamp(postgresText: text).date
    }
}

extension Optional: PostgresEncodable where Wrapped: PostgresEncodable {
    public var postgresText: String? { self?.postgresText }
}

/// JSON or JSONB, carried as its text.
public struct PostgresJSON: PostgresEncodable, PostgresDecodable, Hashable {
    public var text: String
    public init(_ text: String) { self.text = text }
    public init(postgresText text: String) { self.text = text }
    public var postgresText: String? { text }

    /// Encodes any Encodable value as JSON.
    public init<Value: Encodable>(encoding value: Value) throws {
        self.text = String(decoding: try JSONEncoder().encode(value), as: UTF8.self)
    }

    public func decode<Value: Decodable>(_ type: Value.Type) throws -> Value {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }
}

/// `bytea`, sent and read in PostgreSQL's hex format.
public struct PostgresBytes: PostgresEncodable, PostgresDecodable, Hashable {
    public var bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public var postgresText: String? {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public init(postgresText text: String) throws(PostgresError) {
        let chars = Array(text.utf8)
        guard chars.count >= 2, chars[0] == UInt8(ascii: "\\"), chars[1] == UInt8(ascii: "x"), chars.count % 2 == 0 else {
            throw .decoding(text, as: "bytea (hex)")
        }
        var out: [UInt8] = []
        out.reserveCapacity((chars.count - 2) / 2)
        var index = 2
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: c - 48
            case 97...102: c - 87
            case 65...70: c - 55
            default: nil
            }
        }
        while index < chars.count {
            guard let high = nibble(chars[index]), let low = nibble(chars[index + 1]) else { throw .decoding(text, as: "bytea (hex)") }
            out.append(high << 4 | low)
            index += 2
        }
        self.bytes = out
    }
}

/// A pgvector `vector`, in its text form `[1,2,3]`.
public struct PostgresVector: PostgresEncodable, PostgresDecodable, Hashable {
    public var values: [Float]
    public init(_ values: [Float]) { self.values = values }

    public var postgresText: String? {
        "[" + values.map { PostgresFloatText.encode(Double($0)) }.joined(separator: ",") + "]"
    }

    public init(postgresText text: String) throws(PostgresError) {
        guard text.hasPrefix("["), text.hasSuffix("]") else { throw .decoding(text, as: "vector") }
        let body = text.dropFirst().dropLast()
        var values: [Float] = []
        if !body.isEmpty {
            for part in body.split(separator: ",") {
                guard let value = Float(part) else { throw .decoding(text, as: "vector") }
                values.append(value)
            }
        }
        self.values = values
    }
}

/// Arrays (`text[]`, `float8[]`, ...) in PostgreSQL's array literal syntax.
extension Array: PostgresEncodable where Element: PostgresEncodable {
    /// Written into one string (the batch route sends thousand-element arrays).
    public var postgresText: String? {
        var out = "{"
        for (position, element) in enumerated() {
            if position > 0 { out.append(",") }
            if let text = element.postgresText {
                PostgresArrayText.appendQuoted(text, to: &out)
            } else {
                out.append("NULL")
            }
        }
        out.append("}")
        return out
    }
}

extension Array: PostgresDecodable where Element: PostgresDecodable {
    public init(postgresText text: String) throws(PostgresError) {
        var result: [Element] = []
        for item in try PostgresArrayText.parse(text) {
            guard let item else { throw PostgresError(kind: .decoding, message: "array element is NULL") }
            result.append(try Element(postgresText: item))
        }
        self = result
    }
}

enum PostgresFloatText {
    static func encode(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "Infinity" : "-Infinity" }
        return "\(value)"
    }

    static func decode(_ text: String) -> Double? {
        switch text {
        case "NaN": .nan
        case "Infinity": .infinity
        case "-Infinity": -.infinity
        default: Double(text)
        }
    }
}

/// One-dimensional array literals: `{a,"b c",NULL,"q\"uote"}`.
enum PostgresArrayText {
    static func quote(_ text: String) -> String {
        var out = ""
        appendQuoted(text, to: &out)
        return out
    }

    /// `"` and `\` are ASCII, so they never occur inside a multi-byte character and the
    /// text can be scanned byte by byte.
    static func appendQuoted(_ text: String, to out: inout String) {
        out.append("\"")
        if text.utf8.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(text.utf8.count + 8)
            for byte in text.utf8 {
                if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            out.append(String(decoding: bytes, as: UTF8.self))
        } else {
            out.append(text)
        }
        out.append("\"")
    }

    static func parse(_ text: String) throws(PostgresError) -> [String?] {
        let chars = Array(text.utf8)
        // A dimension decoration like "[0:2]={...}" is legal output; skip it.
        var index = 0
        if chars.first == UInt8(ascii: "[") {
            guard let equals = chars.firstIndex(of: UInt8(ascii: "=")) else { throw .decoding(text, as: "array") }
            index = equals + 1
        }
        guard index < chars.count, chars[index] == UInt8(ascii: "{"), chars.last == UInt8(ascii: "}") else {
            throw .decoding(text, as: "array")
        }
        index += 1
        let end = chars.count - 1
        var items: [String?] = []
        if index == end { return [] }
        while index <= end {
            var item: [UInt8] = []
            var quoted = false
            if chars[index] == UInt8(ascii: "\"") {
                quoted = true
                index += 1
                while index < end, chars[index] != UInt8(ascii: "\"") {
                    if chars[index] == UInt8(ascii: "\\") { index += 1 }
                    guard index < end else { throw .decoding(text, as: "array") }
                    item.append(chars[index])
                    index += 1
                }
                index += 1  // closing quote
            } else {
                while index < end, chars[index] != UInt8(ascii: ",") {
                    if chars[index] == UInt8(ascii: "{") { throw PostgresError(kind: .decoding, message: "multi-dimensional arrays are not supported") }
                    item.append(chars[index])
                    index += 1
                }
            }
            let value = String(decoding: item, as: UTF8.self)
            items.append(!quoted && value.uppercased() == "NULL" ? nil : value)
            guard index == end || chars[index] == UInt8(ascii: ",") else { throw .decoding(text, as: "array") }
            index += 1
        }
        return items
    }
}
