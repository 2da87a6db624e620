import Timestamps

/// The batch route's bodies written with `JSONWriter`: the same JSON the Codable types
/// give, without JSONEncoder's per-item cost.
public enum BatchWire {
    /// `{"items":[...]}`: each item the write's fields (absent ones left out) plus its
    /// namespace. Nil when a number in an item is not finite (JSON cannot hold it).
    public static func request(_ items: [(namespace: String?, write: MemoryWrite)]) -> [UInt8]? {
        var writer = JSONWriter(capacity: items.reduce(16) { $0 + 200 + $1.write.content.utf8.count })
        writer.raw("{\"items\":")
        writer.array(items) { write($1.write, namespace: $1.namespace, into: &$0) }
        writer.raw("}")
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
            writer.floats(embedding)
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
        writer.raw("{\"results\":")
        writer.array(results) { writer, result in
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
        writer.raw("}")
        return writer.bytes
    }
}

extension BatchWire {
    /// Decodes `{"items":[...]}` as `BatchRequest`'s Decodable would, straight from the
    /// body's bytes: malformed JSON or a missing `items` fails the request, an item that
    /// does not make a write keeps its error (the same message JSONDecoder gives) and
    /// fails alone. Unknown fields are ignored; of repeated ones the first counts, as in JSONDecoder.
    public static func decodeRequest(_ bytes: UnsafeRawBufferPointer) throws(ContractError) -> [BatchItem] {
        var reader = JSONReader(bytes)
        var items: [BatchItem]?
        var itemsWrongType = false
        var bodyWrongType = false
        do throws(JSONSyntaxError) {
            if try reader.kind() != .object {
                bodyWrongType = true
                try reader.skipValue()
            } else {
                var seen = false
                try reader.readObject { (reader, key) throws(JSONSyntaxError) in
                    guard key == "items", !seen else { return try reader.skipValue() }
                    seen = true
                    guard try reader.kind() == .array else {
                        itemsWrongType = true
                        return try reader.skipValue()
                    }
                    var decoded: [BatchItem] = []
                    var shared = SharedValues()
                    try reader.readArray { (reader, index) throws(JSONSyntaxError) in decoded.append(try item(&reader, index, &shared)) }
                    items = decoded
                }
            }
            try reader.finish()
        } catch {
            throw .badRequest("body is not valid JSON")
        }
        if bodyWrongType { throw .badRequest("body has the wrong type") }
        if itemsWrongType { throw .badRequest("items has the wrong type") }
        guard let items else { throw .badRequest("items is required") }
        return items
    }

    /// One write object on its own (a single commit's body); nil when it is not valid JSON,
    /// not an object, or not a valid write.
    static func decodeWrite(_ bytes: UnsafeRawBufferPointer) -> MemoryWrite? {
        var reader = JSONReader(bytes)
        var shared = SharedValues()
        do throws(JSONSyntaxError) {
            guard try reader.kind() == .object else { return nil }
            let decoded = try item(&reader, 0, &shared)
            try reader.finish()
            guard case .success(let write) = decoded.write else { return nil }
            return write
        } catch {
            return nil
        }
    }

    /// The fields of one item; a field's problem is kept (the first in MemoryWrite's
    /// decoding order, as JSONDecoder reports it) and the item still read to its end.
    private static func item(_ reader: inout JSONReader, _ index: Int, _ shared: inout SharedValues) throws(JSONSyntaxError) -> BatchItem {
        let path = "items[\(index)]"
        guard try reader.kind() == .object else {
            try reader.skipValue()
            return BatchItem(namespace: nil, write: .failure(.badRequest("\(path) has the wrong type")))
        }
        var fields = ItemFields()
        // One bit per field: a Set per item (hashing the fields' names) was a tenth of the decoding.
        var seen: UInt16 = 0
        try reader.readObject { (reader, key) throws(JSONSyntaxError) in
            guard let field = ItemFields.Field(rawValue: key), seen & field.bit == 0 else { return try reader.skipValue() }
            seen |= field.bit
            try fields.read(field, &reader, &shared)
        }
        return fields.item(path: path)
    }

    /// Values that recur across a request's items, decoded once and shared by them: a bulk
    /// load's items name a few hundred namespaces at most and carry a handful of distinct
    /// `propagation` objects, and a dictionary per item was the largest part of a decoded
    /// batch. Keyed by their bytes in the body, so only byte-identical JSON is shared.
    private struct SharedValues {
        private var namespaces: [RawJSON: String] = [:]
        private var propagations: [RawJSON: [String: JSONValue]] = [:]

        mutating func namespace(_ reader: inout JSONReader) throws(JSONSyntaxError) -> String {
            let raw = RawJSON(try reader.readRawValue())
            if let known = namespaces[raw] { return known }
            var own = JSONReader(raw.bytes)
            let text = try own.readString()
            namespaces[raw] = text
            return text
        }

        /// The object at the reader (the caller checked that it is one).
        mutating func propagation(_ reader: inout JSONReader) throws(JSONSyntaxError) -> [String: JSONValue] {
            let raw = RawJSON(try reader.readRawValue())
            if let known = propagations[raw] { return known }
            var own = JSONReader(raw.bytes)
            guard case .object(let object) = try own.readValue() else { throw JSONSyntaxError() }
            propagations[raw] = object
            return object
        }
    }

    /// A value's bytes in the request body, compared and hashed by content.
    private struct RawJSON: Hashable {
        let bytes: UnsafeRawBufferPointer
        init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
        static func == (lhs: RawJSON, rhs: RawJSON) -> Bool { lhs.bytes.elementsEqual(rhs.bytes) }
        func hash(into hasher: inout Hasher) { hasher.combine(bytes: bytes) }
    }

    /// What one item's fields held: a value, or why the field cannot give one.
    private struct ItemFields {
        /// In the order MemoryWrite's Decodable reads them; `namespace` is BatchItem's.
        enum Field: String, CaseIterable {
            case id, content, kind, source
            case expiresAt = "expires_at"
            case propagation, pin, embedding
            case createdAt = "created_at"
            case key
            case ifMatchVersion = "if_match_version"
            case version, namespace

            var bit: UInt16 {
                let position: Int = switch self {
                case .id: 0
                case .content: 1
                case .kind: 2
                case .source: 3
                case .expiresAt: 4
                case .propagation: 5
                case .pin: 6
                case .embedding: 7
                case .createdAt: 8
                case .key: 9
                case .ifMatchVersion: 10
                case .version: 11
                case .namespace: 12
                }
                return 1 << position
            }
        }

        enum Problem {
            case wrongType, invalid
            case invalidElement(Int)
            case wrongTypeElement(Int)
        }

        var namespace: String?
        var id: String?, content: String?, key: String?
        var kind: MemoryKind?, source: MemorySource?
        var expiresAt: Timestamp?, createdAt: Timestamp?
        var propagation: [String: JSONValue]?
        var pin: Bool?
        var embedding: [Float]?
        var ifMatchVersion: Int64?, version: Int64?
        var problems: [Field: Problem] = [:]

        mutating func read(_ field: Field, _ reader: inout JSONReader, _ shared: inout SharedValues) throws(JSONSyntaxError) {
            let kind = try reader.kind()
            if kind == .null {
                _ = reader.readNull()
                clear(field)
                // null is "absent" for optional fields and a type mismatch for required ones.
                if field == .content || field == .kind || field == .source { problems[field] = .wrongType }
                return
            }
            switch field {
            case .namespace:
                // BatchItem reads it with try?: anything but a string is no namespace.
                namespace = kind == .string ? try shared.namespace(&reader) : nil
                if kind != .string { try reader.skipValue() }
            case .id, .content, .key:
                guard kind == .string else { return try mismatch(field, &reader) }
                let text = try reader.readString()
                if field == .id { id = text } else if field == .content { content = text } else { key = text }
            case .kind:
                guard kind == .string else { return try mismatch(field, &reader) }
                self.kind = MemoryKind(rawValue: try reader.readString())
                if self.kind == nil { problems[field] = .invalid }
            case .source:
                guard kind == .string else { return try mismatch(field, &reader) }
                source = MemorySource(rawValue: try reader.readString())
                if source == nil { problems[field] = .invalid }
            case .expiresAt, .createdAt:
                guard kind == .string else { return try mismatch(field, &reader) }
                let time = Timestamp(rfc3339: try reader.readString())
                if field == .expiresAt { expiresAt = time } else { createdAt = time }
                if time == nil { problems[field] = .invalid }
            case .propagation:
                guard kind == .object else { return try mismatch(field, &reader) }
                propagation = try shared.propagation(&reader)
            case .pin:
                guard kind == .bool else { return try mismatch(field, &reader) }
                pin = try reader.readBool()
            case .ifMatchVersion, .version:
                guard kind == .number else { return try mismatch(field, &reader) }
                let number = try reader.readInt64()
                if field == .ifMatchVersion { ifMatchVersion = number } else { version = number }
                if number == nil { problems[field] = .invalid }
            case .embedding:
                guard kind == .array else { return try mismatch(field, &reader) }
                var values: [Float] = []
                var problem: Problem?
                try reader.readArray { (reader, index) throws(JSONSyntaxError) in
                    guard try reader.kind() == .number else {
                        if problem == nil { problem = .wrongTypeElement(index) }
                        return try reader.skipValue()
                    }
                    guard let value = Double(try reader.readNumberText()), value.isFinite,
                        abs(value) <= Double(Float.greatestFiniteMagnitude)
                    else {
                        if problem == nil { problem = .invalidElement(index) }
                        return
                    }
                    values.append(Float(value))
                }
                embedding = values
                problems[field] = problem
            }
        }

        private mutating func mismatch(_ field: Field, _ reader: inout JSONReader) throws(JSONSyntaxError) {
            try reader.skipValue()
            clear(field)
            problems[field] = .wrongType
        }

        private mutating func clear(_ field: Field) {
            switch field {
            case .namespace: namespace = nil
            case .id: id = nil
            case .content: content = nil
            case .kind: kind = nil
            case .source: source = nil
            case .expiresAt: expiresAt = nil
            case .propagation: propagation = nil
            case .pin: pin = nil
            case .embedding: embedding = nil
            case .createdAt: createdAt = nil
            case .key: key = nil
            case .ifMatchVersion: ifMatchVersion = nil
            case .version: version = nil
            }
        }

        func item(path: String) -> BatchItem {
            for field in Field.allCases where field != .namespace {
                if let problem = problems[field] {
                    let message = switch problem {
                    case .wrongType: "\(path).\(field.rawValue) has the wrong type"
                    case .invalid: "\(path).\(field.rawValue) is not valid"
                    case .wrongTypeElement(let index): "\(path).\(field.rawValue)[\(index)] has the wrong type"
                    case .invalidElement(let index): "\(path).\(field.rawValue)[\(index)] is not valid"
                    }
                    return BatchItem(namespace: namespace, write: .failure(.badRequest(message)))
                }
                let missing = switch field {
                case .content: content == nil
                case .kind: kind == nil
                case .source: source == nil
                default: false
                }
                if missing { return BatchItem(namespace: namespace, write: .failure(.badRequest("\(path).\(field.rawValue) is required"))) }
            }
            return BatchItem(namespace: namespace, write: .success(MemoryWrite(
                id: id, content: content!, kind: kind!, source: source!, expiresAt: expiresAt, propagation: propagation, pin: pin,
                embedding: embedding, createdAt: createdAt, key: key, ifMatchVersion: ifMatchVersion, version: version)))
        }
    }
}
