/// Arbitrary JSON (namespace metadata, memory propagation), kept as a tree so it
/// round-trips without Foundation's untyped dictionaries.
public enum JSONValue: Sendable, Hashable, Codable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: any Decoder) throws {
        // Each failed attempt throws (and builds) a DecodingError, so the common shapes of
        // stored JSON go first: strings (no failed attempt) and objects (one). Every JSON
        // value decodes as exactly one of these types, so the order changes no result.
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([String: JSONValue].self) {
            self = .object(value)
        } else if let value = try? container.decode(Double.self) {
            self = .number(value)
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else {
            self = .array(try container.decode([JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .number(let value):
            // Whole numbers print without ".0", as Go's encoder does.
            if value.rounded() == value, abs(value) < 1e15 { try container.encode(Int64(value)) } else { try container.encode(value) }
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }
}

/// A field of a PATCH body: absent (leave it), explicit null (clear it), or a value.
public enum PatchField<Value: Sendable & Hashable>: Sendable, Hashable {
    case absent
    case null
    case value(Value)

    public var isAbsent: Bool { if case .absent = self { true } else { false } }
}

extension KeyedDecodingContainer {
    /// Distinguishes `"field": null` from a missing field, which plain Optionals cannot.
    public func decodePatchField<Value: Decodable & Sendable & Hashable>(_ type: Value.Type, forKey key: Key) throws -> PatchField<Value> {
        guard contains(key) else { return .absent }
        if try decodeNil(forKey: key) { return .null }
        return .value(try decode(type, forKey: key))
    }
}
