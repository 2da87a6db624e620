import Timestamps

/// The limits every request is checked against before it reaches the store.
public struct ContractLimits: Sendable, Equatable {
    public var maxNamespaceBytes = 256
    public var maxContentBytes = 100_000
    public var maxKeyBytes = 1024
    public var maxSearchNamespaces = 100
    public var maxSearchLimit = 100
    public var maxPageLimit = 1000
    public var maxBatchItems = 1000
    /// Embedding length; nil when embeddings are not supported (no pgvector).
    public var embeddingDimensions: Int?

    public init(embeddingDimensions: Int?) { self.embeddingDimensions = embeddingDimensions }
}

/// Validation of contract v1 requests. Each failure is a 400 whose message names the field.
public enum Validate {
    /// `^[a-z]+:[A-Za-z0-9_:.\-]+$`, at most 256 bytes.
    public static func namespace(_ name: String, field: String = "namespace", limits: ContractLimits) throws(ContractError) {
        guard !name.isEmpty else { throw .badRequest("\(field) is empty") }
        guard name.utf8.count <= limits.maxNamespaceBytes else {
            throw .badRequest("\(field) is longer than \(limits.maxNamespaceBytes) bytes")
        }
        let bytes = Array(name.utf8)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")), colon > 0,
            bytes[..<colon].allSatisfy({ $0 >= 97 && $0 <= 122 }),
            colon + 1 < bytes.count,
            bytes[(colon + 1)...].allSatisfy({ isNamespaceTail($0) })
        else {
            throw .badRequest("\(field) \"\(String(name.prefix(80)))\" must match ^[a-z]+:[A-Za-z0-9_:.\\-]+$")
        }
    }

    private static func isNamespaceTail(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122)
            || c == UInt8(ascii: "_") || c == UInt8(ascii: ":") || c == UInt8(ascii: ".") || c == UInt8(ascii: "-")
    }

    /// A memory id: a UUID in its canonical text form (any case).
    public static func memoryID(_ id: String, field: String = "id") throws(ContractError) {
        let bytes = Array(id.utf8)
        let dashes = [8, 13, 18, 23]
        guard bytes.count == 36 else { throw .badRequest("\(field) must be a UUID") }
        for (index, byte) in bytes.enumerated() {
            let ok = dashes.contains(index) ? byte == UInt8(ascii: "-")
                : (byte >= 48 && byte <= 57) || (byte >= 97 && byte <= 102) || (byte >= 65 && byte <= 70)
            guard ok else { throw .badRequest("\(field) must be a UUID") }
        }
    }

    public static func memoryWrite(_ write: MemoryWrite, limits: ContractLimits) throws(ContractError) {
        if let id = write.id { try memoryID(id) }
        guard write.content.contains(where: { !$0.isWhitespace }) else { throw .badRequest("content is empty") }
        guard write.content.utf8.count <= limits.maxContentBytes else {
            throw .tooLarge("content is \(write.content.utf8.count) bytes; the limit is \(limits.maxContentBytes)")
        }
        guard !write.content.utf8.contains(0) else { throw .badRequest("content contains a NUL byte") }
        switch (write.kind, write.key) {
        case (.kv, nil): throw .badRequest("key is required for kind kv")
        case (.kv, let key?):
            guard !key.isEmpty else { throw .badRequest("key is empty") }
            guard key.utf8.count <= limits.maxKeyBytes else { throw .badRequest("key is longer than \(limits.maxKeyBytes) bytes") }
            guard !key.utf8.contains(0) else { throw .badRequest("key contains a NUL byte") }
        case (_, .some): throw .badRequest("key is only allowed with kind kv")
        case (_, nil): break
        }
        if write.ifMatchVersion != nil && write.kind != .kv { throw .badRequest("if_match_version is only allowed with kind kv") }
        if let version = write.ifMatchVersion, version < 0 { throw .badRequest("if_match_version must be 0 or more") }
        if let version = write.version {
            guard write.kind == .kv else { throw .badRequest("version is only allowed with kind kv") }
            guard version >= 1 else { throw .badRequest("version must be 1 or more") }
            guard write.ifMatchVersion == nil else { throw .badRequest("version (an import) and if_match_version exclude each other") }
        }
        if let embedding = write.embedding { try self.embedding(embedding, limits: limits) }
    }

    public static func embedding(_ embedding: [Float], field: String = "embedding", limits: ContractLimits) throws(ContractError) {
        guard let dimensions = limits.embeddingDimensions else {
            throw .badRequest("\(field) is not supported: this memory plugin runs without pgvector")
        }
        guard embedding.count == dimensions else {
            throw .badRequest("\(field) has \(embedding.count) dimensions; this plugin stores \(dimensions)")
        }
        guard embedding.allSatisfy({ $0.isFinite }) else { throw .badRequest("\(field) contains a non-finite number") }
    }

    public static func search(_ request: SearchRequest, limits: ContractLimits) throws(ContractError) {
        guard !request.namespaces.isEmpty else { throw .badRequest("namespaces is empty") }
        guard request.namespaces.count <= limits.maxSearchNamespaces else {
            throw .badRequest("namespaces has \(request.namespaces.count) entries; the limit is \(limits.maxSearchNamespaces)")
        }
        for (index, name) in request.namespaces.enumerated() { try namespace(name, field: "namespaces[\(index)]", limits: limits) }
        if let limit = request.limit, limit < 0 || limit > limits.maxSearchLimit {
            throw .badRequest("limit \(limit) is out of range 0...\(limits.maxSearchLimit)")
        }
        if let query = request.query, query.utf8.contains(0) { throw .badRequest("query contains a NUL byte") }
        if let embedding = request.embedding { try self.embedding(embedding, limits: limits) }
    }

    public static func namespacePatch(_ patch: NamespacePatch) throws(ContractError) {
        guard !(patch.expiresAt.isAbsent && patch.metadata.isAbsent) else {
            throw .badRequest("patch has no fields: set expires_at or metadata (null clears)")
        }
    }
}
