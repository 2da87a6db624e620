import Timestamps

/// The bodies of the server's most frequent plugin calls, a commit and a search, written
/// and read with `JSONWriter`/`JSONReader` as the Codable types would: every memory
/// request through the server makes one of them, and Foundation's JSONEncoder and
/// JSONDecoder (a boxed tree per value first) were a large share of the server's CPU per
/// request. Unknown fields are ignored; of repeated ones the first counts.
public enum MemoryWire {
    /// Why an answer is not the contract's, naming the field (never its content).
    public struct Malformed: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// `POST /v1/namespaces/{name}/memories`' body; nil when a number is not finite.
    public static func commitRequest(_ write: MemoryWrite) -> [UInt8]? {
        var writer = JSONWriter(capacity: 120 + write.content.utf8.count)
        BatchWire.write(write, namespace: nil, into: &writer)
        return writer.wroteNonFiniteNumber ? nil : writer.bytes
    }

    /// A commit's body read as MemoryWrite's Decodable would (the batch route's item
    /// reader), or nil when it is not a valid write: the caller then lets JSONDecoder
    /// decode it, so that a refusal keeps JSONDecoder's words exactly.
    public static func decodeCommitRequest(_ bytes: UnsafeRawBufferPointer) -> MemoryWrite? {
        BatchWire.decodeWrite(bytes)
    }

    /// The commit's answer, `{"id","namespace","version"?}`, as JSONEncoder writes it.
    public static func commitResponse(_ response: MemoryWriteResponse) -> [UInt8] {
        var writer = JSONWriter(capacity: 96 + response.namespace.utf8.count)
        writer.raw("{")
        writer.key("id", first: true)
        writer.string(response.id)
        writer.key("namespace")
        writer.string(response.namespace)
        if let version = response.version {
            writer.key("version")
            writer.integer(version)
        }
        writer.raw("}")
        return writer.bytes
    }

    /// The commit's answer, `{"id","namespace","version"?}`.
    public static func decodeCommitResponse(_ bytes: UnsafeRawBufferPointer) throws(Malformed) -> MemoryWriteResponse {
        var reader = JSONReader(bytes)
        var id: String?, namespace: String?, version: Int64?
        var seen = Set<String>()
        var problem: String?
        do throws(JSONSyntaxError) {
            guard try reader.kind() == .object else {
                problem = "the answer has the wrong type"
                throw JSONSyntaxError()
            }
            try reader.readObject { (reader, key) throws(JSONSyntaxError) in
                guard seen.insert(key).inserted, problem == nil else { return try reader.skipValue() }
                let kind = try reader.kind()
                if kind == .null {
                    _ = reader.readNull()
                    return
                }
                switch key {
                case "id", "namespace":
                    guard kind == .string else {
                        problem = "\(key) has the wrong type"
                        return try reader.skipValue()
                    }
                    if key == "id" { id = try reader.readString() } else { namespace = try reader.readString() }
                case "version":
                    guard kind == .number else {
                        problem = "version has the wrong type"
                        return try reader.skipValue()
                    }
                    version = try reader.readInt64()
                    if version == nil { problem = "version is not valid" }
                default:
                    try reader.skipValue()
                }
            }
            try reader.finish()
        } catch {
            throw Malformed(description: problem ?? "the answer is not valid JSON")
        }
        if let problem { throw Malformed(description: problem) }
        guard let id else { throw Malformed(description: "id is required") }
        guard let namespace else { throw Malformed(description: "namespace is required") }
        return MemoryWriteResponse(id: id, namespace: namespace, version: version)
    }

    /// `POST /v1/search`'s answer, `{"memories":[...]}`.
    public static func decodeSearchResponse(_ bytes: UnsafeRawBufferPointer) throws(Malformed) -> [Memory] {
        var reader = JSONReader(bytes)
        var memories: [Memory]?
        var problem: String?
        do throws(JSONSyntaxError) {
            guard try reader.kind() == .object else {
                problem = "the answer has the wrong type"
                throw JSONSyntaxError()
            }
            var seen = false
            try reader.readObject { (reader, key) throws(JSONSyntaxError) in
                guard key == "memories", !seen, problem == nil else { return try reader.skipValue() }
                seen = true
                guard try reader.kind() == .array else {
                    problem = "memories has the wrong type"
                    return try reader.skipValue()
                }
                var decoded: [Memory] = []
                try reader.readArray { (reader, index) throws(JSONSyntaxError) in
                    guard problem == nil else { return try reader.skipValue() }
                    var fields = MemoryFields()
                    if let memory = try fields.read(&reader) {
                        decoded.append(memory)
                    } else {
                        problem = "memories[\(index)].\(fields.problem ?? "?")"
                    }
                }
                memories = decoded
            }
            try reader.finish()
        } catch {
            throw Malformed(description: problem ?? "the answer is not valid JSON")
        }
        if let problem { throw Malformed(description: problem) }
        guard let memories else { throw Malformed(description: "memories is required") }
        return memories
    }

    /// One memory's fields; `problem` names the first field that cannot make a `Memory`.
    private struct MemoryFields {
        enum Field: String {
            case id, namespace, content, kind, source, propagation, pin, score, key, version
            case expiresAt = "expires_at"
            case createdAt = "created_at"

            var bit: UInt16 {
                switch self {
                case .id: 1 << 0
                case .namespace: 1 << 1
                case .content: 1 << 2
                case .kind: 1 << 3
                case .source: 1 << 4
                case .propagation: 1 << 5
                case .pin: 1 << 6
                case .score: 1 << 7
                case .key: 1 << 8
                case .version: 1 << 9
                case .expiresAt: 1 << 10
                case .createdAt: 1 << 11
                }
            }
        }

        var id: String?, namespace: String?, content: String?, key: String?
        var kind: MemoryKind?, source: MemorySource?
        var expiresAt: Timestamp?, createdAt: Timestamp?
        var propagation: [String: JSONValue]?
        var pin = false
        var score: Double?
        var version: Int64?
        /// Fields already read: of repeated ones the first counts.
        var seen: UInt16 = 0
        var problem: String?

        /// Reads the object at the reader (to its end, even after a problem).
        mutating func read(_ reader: inout JSONReader) throws(JSONSyntaxError) -> Memory? {
            guard try reader.kind() == .object else {
                try reader.skipValue()
                problem = "(item) has the wrong type"
                return nil
            }
            try reader.readObject { (reader, key) throws(JSONSyntaxError) in
                guard problem == nil, let field = Field(rawValue: key), seen & field.bit == 0 else { return try reader.skipValue() }
                seen |= field.bit
                try read(field, &reader)
            }
            guard problem == nil else { return nil }
            guard let id else { return missing(.id) }
            guard let namespace else { return missing(.namespace) }
            guard let content else { return missing(.content) }
            guard let kind else { return missing(.kind) }
            guard let source else { return missing(.source) }
            guard let createdAt else { return missing(.createdAt) }
            return Memory(id: id, namespace: namespace, content: content, kind: kind, source: source, expiresAt: expiresAt,
                          propagation: propagation, pin: pin, createdAt: createdAt, score: score, key: key, version: version)
        }

        private mutating func missing(_ field: Field) -> Memory? {
            problem = "\(field.rawValue) is required"
            return nil
        }

        private mutating func read(_ field: Field, _ reader: inout JSONReader) throws(JSONSyntaxError) {
            let kind = try reader.kind()
            // null is "absent" for optional fields; required ones then report "is required".
            if kind == .null {
                _ = reader.readNull()
                return
            }
            switch field {
            case .id, .namespace, .content, .key:
                guard kind == .string else { return try mismatch(field, &reader) }
                let text = try reader.readString()
                switch field {
                case .id: id = text
                case .namespace: namespace = text
                case .content: content = text
                default: key = text
                }
            case .kind:
                guard kind == .string else { return try mismatch(field, &reader) }
                self.kind = MemoryKind(rawValue: try reader.readString())
                if self.kind == nil { problem = "kind is not valid" }
            case .source:
                guard kind == .string else { return try mismatch(field, &reader) }
                source = MemorySource(rawValue: try reader.readString())
                if source == nil { problem = "source is not valid" }
            case .expiresAt, .createdAt:
                guard kind == .string else { return try mismatch(field, &reader) }
                let time = Timestamp(rfc3339: try reader.readString())
                if field == .expiresAt { expiresAt = time } else { createdAt = time }
                if time == nil { problem = "\(field.rawValue) is not valid" }
            case .propagation:
                guard kind == .object, case .object(let object) = try reader.readValue() else { return try mismatch(field, &reader) }
                propagation = object
            case .pin:
                guard kind == .bool else { return try mismatch(field, &reader) }
                pin = try reader.readBool()
            case .score:
                guard kind == .number else { return try mismatch(field, &reader) }
                score = Double(try reader.readNumberText())
                if score == nil { problem = "score is not valid" }
            case .version:
                guard kind == .number else { return try mismatch(field, &reader) }
                version = try reader.readInt64()
                if version == nil { problem = "version is not valid" }
            }
        }

        private mutating func mismatch(_ field: Field, _ reader: inout JSONReader) throws(JSONSyntaxError) {
            try reader.skipValue()
            problem = "\(field.rawValue) has the wrong type"
        }
    }

    /// `POST /v1/search`'s body, as `SearchRequest` encodes it; nil when a number is not finite.
    public static func searchRequest(_ request: SearchRequest) -> [UInt8]? {
        var writer = JSONWriter(capacity: 64 + request.namespaces.reduce(0) { $0 + $1.utf8.count + 3 } + (request.query?.utf8.count ?? 0))
        writer.raw("{")
        writer.key("namespaces", first: true)
        writer.strings(request.namespaces)
        if let query = request.query {
            writer.key("query")
            writer.string(query)
        }
        if let kinds = request.kinds {
            writer.key("kinds")
            writer.strings(kinds.map(\.rawValue))
        }
        if let limit = request.limit {
            writer.key("limit")
            writer.integer(limit)
        }
        if let embedding = request.embedding {
            writer.key("embedding")
            writer.floats(embedding)
        }
        writer.raw("}")
        return writer.wroteNonFiniteNumber ? nil : writer.bytes
    }
}
