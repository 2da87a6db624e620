import Timestamps

/// Memory-plugin contract v1: the wire types of the reference's `contract` package with
/// the same JSON names and omit-when-empty rules, plus our compatible additions (+).
public enum Contract {
    public static let schemaVersion = "1.0.0"

    /// Capability names advertised by `/v1/health`; advertise only what works.
    public enum Capability {
        public static let embedding = "embedding"
        public static let fullTextSearch = "fts"
        public static let ttl = "ttl"
        public static let pin = "pin"
        public static let propagation = "propagation"
        /// (+) kind `kv` with keys and versions.
        public static let keyValue = "kv"
    }
}

public enum NamespaceKind: String, Sendable, Codable, CaseIterable {
    case workspace, team, org, custom

    /// The kind a namespace gets when a commit creates it: its prefix if that is a kind,
    /// else custom.
    public static func inferred(from namespace: String) -> NamespaceKind {
        guard let colon = namespace.firstIndex(of: ":") else { return .custom }
        return NamespaceKind(rawValue: String(namespace[..<colon])) ?? .custom
    }
}

public enum MemoryKind: String, Sendable, Codable, CaseIterable {
    case fact, summary, checkpoint
    /// (+) a keyed, versioned value.
    case kv
}

public enum MemorySource: String, Sendable, Codable, CaseIterable {
    case agent, runtime, user
}

public struct HealthResponse: Sendable, Codable, Equatable {
    public var status: String
    public var version: String
    public var capabilities: [String]
    /// (+) the length of stored embeddings; absent without the `embedding` capability.
    public var embeddingDimensions: Int?

    public init(status: String, version: String, capabilities: [String], embeddingDimensions: Int? = nil) {
        self.status = status
        self.version = version
        self.capabilities = capabilities
        self.embeddingDimensions = embeddingDimensions
    }

    enum CodingKeys: String, CodingKey {
        case status, version, capabilities
        case embeddingDimensions = "embedding_dimensions"
    }
}

public struct Namespace: Sendable, Codable, Equatable {
    public var name: String
    public var kind: NamespaceKind
    public var expiresAt: Timestamp?
    public var metadata: [String: JSONValue]?
    public var createdAt: Timestamp

    public init(name: String, kind: NamespaceKind, expiresAt: Timestamp?, metadata: [String: JSONValue]?, createdAt: Timestamp) {
        self.name = name
        self.kind = kind
        self.expiresAt = expiresAt
        self.metadata = metadata
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, metadata
        case expiresAt = "expires_at"
        case createdAt = "created_at"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(name, forKey: .name)
        try container.encode(kind, forKey: .kind)
        try container.encodeIfPresent(expiresAt, forKey: .expiresAt)
        if let metadata, !metadata.isEmpty { try container.encode(metadata, forKey: .metadata) }
        try container.encode(createdAt, forKey: .createdAt)
    }
}

/// PUT /v1/namespaces/{name}
public struct NamespaceUpsert: Sendable, Codable, Equatable {
    public var kind: NamespaceKind
    public var expiresAt: Timestamp?
    public var metadata: [String: JSONValue]?

    public init(kind: NamespaceKind, expiresAt: Timestamp? = nil, metadata: [String: JSONValue]? = nil) {
        self.kind = kind
        self.expiresAt = expiresAt
        self.metadata = metadata
    }

    enum CodingKeys: String, CodingKey {
        case kind, metadata
        case expiresAt = "expires_at"
    }
}

/// PATCH /v1/namespaces/{name}: an explicit null clears a field, an absent one stays.
public struct NamespacePatch: Sendable, Decodable, Equatable {
    public var expiresAt: PatchField<Timestamp>
    public var metadata: PatchField<[String: JSONValue]>

    public init(expiresAt: PatchField<Timestamp> = .absent, metadata: PatchField<[String: JSONValue]> = .absent) {
        self.expiresAt = expiresAt
        self.metadata = metadata
    }

    enum CodingKeys: String, CodingKey {
        case metadata
        case expiresAt = "expires_at"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        expiresAt = try container.decodePatchField(Timestamp.self, forKey: .expiresAt)
        metadata = try container.decodePatchField([String: JSONValue].self, forKey: .metadata)
    }
}

/// POST /v1/namespaces/{name}/memories
public struct MemoryWrite: Sendable, Codable, Equatable {
    public var id: String?
    public var content: String
    public var kind: MemoryKind
    public var source: MemorySource
    public var expiresAt: Timestamp?
    public var propagation: [String: JSONValue]?
    public var pin: Bool?
    public var embedding: [Float]?
    /// (+) kept as the memory's creation time (backfill and import keep history).
    public var createdAt: Timestamp?
    /// (+) the key of a `kv` memory, unique within its namespace.
    public var key: String?
    /// (+) optimistic concurrency for `kv`: 0 = create only, N = replace version N.
    public var ifMatchVersion: Int64?
    /// (+) import of a `kv` entry (backfill, admin import): store exactly this version.
    /// An entry already equal is left alone; a stored entry with a higher version wins.
    public var version: Int64?

    public init(
        id: String? = nil, content: String, kind: MemoryKind, source: MemorySource, expiresAt: Timestamp? = nil,
        propagation: [String: JSONValue]? = nil, pin: Bool? = nil, embedding: [Float]? = nil,
        createdAt: Timestamp? = nil, key: String? = nil, ifMatchVersion: Int64? = nil, version: Int64? = nil
    ) {
        self.id = id
        self.content = content
        self.kind = kind
        self.source = source
        self.expiresAt = expiresAt
        self.propagation = propagation
        self.pin = pin
        self.embedding = embedding
        self.createdAt = createdAt
        self.key = key
        self.ifMatchVersion = ifMatchVersion
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case id, content, kind, source, propagation, pin, embedding, key, version
        case expiresAt = "expires_at"
        case createdAt = "created_at"
        case ifMatchVersion = "if_match_version"
    }
}

public struct MemoryWriteResponse: Sendable, Codable, Equatable {
    public var id: String
    public var namespace: String
    /// (+) the version a `kv` write produced.
    public var version: Int64?

    public init(id: String, namespace: String, version: Int64? = nil) {
        self.id = id
        self.namespace = namespace
        self.version = version
    }
}

public struct Memory: Sendable, Codable, Equatable {
    public var id: String
    public var namespace: String
    public var content: String
    public var kind: MemoryKind
    public var source: MemorySource
    public var expiresAt: Timestamp?
    public var propagation: [String: JSONValue]?
    public var pin: Bool
    public var createdAt: Timestamp
    public var score: Double?
    /// (+) `kv` only.
    public var key: String?
    /// (+) `kv` only.
    public var version: Int64?

    public init(
        id: String, namespace: String, content: String, kind: MemoryKind, source: MemorySource, expiresAt: Timestamp?,
        propagation: [String: JSONValue]?, pin: Bool, createdAt: Timestamp, score: Double?, key: String?, version: Int64?
    ) {
        self.id = id
        self.namespace = namespace
        self.content = content
        self.kind = kind
        self.source = source
        self.expiresAt = expiresAt
        self.propagation = propagation
        self.pin = pin
        self.createdAt = createdAt
        self.score = score
        self.key = key
        self.version = version
    }

    enum CodingKeys: String, CodingKey {
        case id, namespace, content, kind, source, propagation, pin, score, key, version
        case expiresAt = "expires_at"
        case createdAt = "created_at"
    }

    /// The reference omits empty propagation and false pin; we do the same.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(namespace, forKey: .namespace)
        try container.encode(content, forKey: .content)
        try container.encode(kind, forKey: .kind)
        try container.encode(source, forKey: .source)
        try container.encodeIfPresent(expiresAt, forKey: .expiresAt)
        if let propagation, !propagation.isEmpty { try container.encode(propagation, forKey: .propagation) }
        if pin { try container.encode(true, forKey: .pin) }
        try container.encode(createdAt, forKey: .createdAt)
        try container.encodeIfPresent(score, forKey: .score)
        try container.encodeIfPresent(key, forKey: .key)
        try container.encodeIfPresent(version, forKey: .version)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        id = try container.decode(String.self, forKey: .id)
        namespace = try container.decode(String.self, forKey: .namespace)
        content = try container.decode(String.self, forKey: .content)
        kind = try container.decode(MemoryKind.self, forKey: .kind)
        source = try container.decode(MemorySource.self, forKey: .source)
        expiresAt = try container.decodeIfPresent(Timestamp.self, forKey: .expiresAt)
        propagation = try container.decodeIfPresent([String: JSONValue].self, forKey: .propagation)
        pin = try container.decodeIfPresent(Bool.self, forKey: .pin) ?? false
        createdAt = try container.decode(Timestamp.self, forKey: .createdAt)
        score = try container.decodeIfPresent(Double.self, forKey: .score)
        key = try container.decodeIfPresent(String.self, forKey: .key)
        version = try container.decodeIfPresent(Int64.self, forKey: .version)
    }
}

/// POST /v1/search
public struct SearchRequest: Sendable, Codable, Equatable {
    public var namespaces: [String]
    public var query: String?
    public var kinds: [MemoryKind]?
    public var limit: Int?
    public var embedding: [Float]?

    public init(namespaces: [String], query: String? = nil, kinds: [MemoryKind]? = nil, limit: Int? = nil, embedding: [Float]? = nil) {
        self.namespaces = namespaces
        self.query = query
        self.kinds = kinds
        self.limit = limit
        self.embedding = embedding
    }

    /// 0 or absent means the default of 20.
    public var effectiveLimit: Int { (limit ?? 0) == 0 ? 20 : limit! }
}

public struct SearchResponse: Sendable, Codable, Equatable {
    /// Never null on the wire: an empty result is `[]`.
    public var memories: [Memory]
    public init(memories: [Memory]) { self.memories = memories }
}

/// DELETE /v1/memories/{id}
public struct ForgetRequest: Sendable, Codable, Equatable {
    public var requestedByNamespace: String
    public init(requestedByNamespace: String) { self.requestedByNamespace = requestedByNamespace }
    enum CodingKeys: String, CodingKey { case requestedByNamespace = "requested_by_namespace" }
}

/// (+) GET /v1/namespaces/{name}/memories?after=&limit=
public struct MemoryPage: Sendable, Codable, Equatable {
    public var memories: [Memory]
    /// Opaque; null on the last page.
    public var nextCursor: String?

    public init(memories: [Memory], nextCursor: String?) {
        self.memories = memories
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case memories
        case nextCursor = "next_cursor"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(memories, forKey: .memories)
        try container.encode(nextCursor, forKey: .nextCursor)
    }
}

/// (+) One item of `POST /v1/memories/batch`: a write plus its namespace. An item that
/// does not decode keeps its error, so it fails alone instead of failing the request.
public struct BatchItem: Sendable, Decodable {
    public var namespace: String?
    public var write: Result<MemoryWrite, ContractError>

    enum CodingKeys: String, CodingKey { case namespace }

    public init(namespace: String, write: MemoryWrite) {
        self.namespace = namespace
        self.write = .success(write)
    }

    public init(namespace: String?, write: Result<MemoryWrite, ContractError>) {
        self.namespace = namespace
        self.write = write
    }

    public init(from decoder: any Decoder) throws {
        namespace = try? decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .namespace)
        do {
            write = .success(try MemoryWrite(from: decoder))
        } catch let error as DecodingError {
            write = .failure(.badRequest(ContractError.describe(error)))
        }
    }
}

public struct BatchRequest: Sendable, Decodable {
    public var items: [BatchItem]
    public init(items: [BatchItem]) { self.items = items }
}

public enum BatchStatus: String, Sendable, Codable {
    case created, updated, unchanged, error
}

public struct BatchItemResult: Sendable, Codable, Equatable {
    public var index: Int
    public var id: String?
    public var status: BatchStatus
    public var error: ContractError?
    /// (+) `kv` items: the version after the write.
    public var version: Int64?

    public init(index: Int, id: String?, status: BatchStatus, error: ContractError? = nil, version: Int64? = nil) {
        self.index = index
        self.id = id
        self.status = status
        self.error = error
        self.version = version
    }

    enum CodingKeys: String, CodingKey { case index, id, status, error, version }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(index, forKey: .index)
        try container.encode(id, forKey: .id)
        try container.encode(status, forKey: .status)
        try container.encodeIfPresent(error, forKey: .error)
        try container.encodeIfPresent(version, forKey: .version)
    }
}

public struct BatchResponse: Sendable, Codable, Equatable {
    public var results: [BatchItemResult]
    public init(results: [BatchItemResult]) { self.results = results }
}

extension ContractError {
    /// A decoding failure as a message naming the field.
    public static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            var out = ""
            for key in codingPath {
                if let index = key.intValue { out += "[\(index)]" } else { out += (out.isEmpty ? "" : ".") + key.stringValue }
            }
            return out
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])) is required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context): return "\(path(context.codingPath)) has the wrong type"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "body is not valid JSON" : "\(path(context.codingPath)) is not valid"
        @unknown default: return "body is not valid"
        }
    }
}
