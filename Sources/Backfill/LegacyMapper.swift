import MemoryAccess
import MemoryContract

/// Where one legacy row goes: its namespace and the write that stores it.
public struct MappedRow: Sendable {
    public var record: LegacyRecord
    public var namespace: String
    public var write: MemoryWrite
}

public enum MappingOutcome: Sendable {
    case write(MappedRow)
    case skip(LegacyRecord, SkipReason)
}

/// DESIGN section 11: each legacy row maps to the namespace the server's resolver gives
/// its workspace today; its id, time, scope and v1 namespace tag are kept; its content
/// passes the same redactor as every write.
public struct LegacyMapper: Sendable {
    public let tree: WorkspaceTree
    public let redactor: MemoryRedactor
    public let limits: ContractLimits
    /// Copy embeddings (both sides have pgvector with these dimensions).
    public let embeddingDimensions: Int?

    public init(tree: WorkspaceTree, limits: ContractLimits = ContractLimits(embeddingDimensions: nil), embeddingDimensions: Int? = nil) {
        self.tree = tree
        self.redactor = MemoryRedactor()
        self.limits = limits
        self.embeddingDimensions = embeddingDimensions
    }

    public func map(_ record: LegacyRecord) -> MappingOutcome {
        switch record {
        case .memory(let row): map(row, record)
        case .keyValue(let row): map(row, record)
        }
    }

    private func map(_ row: LegacyMemory, _ record: LegacyRecord) -> MappingOutcome {
        guard let workspace = row.workspaceID else { return .skip(record, .noWorkspace) }
        let lineage: WorkspaceLineage
        switch tree.lineage(of: workspace) {
        case .success(let found): lineage = found
        case .failure(.unknownWorkspace): return .skip(record, .unknownWorkspace)
        case .failure(.brokenTree): return .skip(record, .brokenTree)
        }
        let namespace: String
        do {
            namespace = try NamespaceResolver(lineage: lineage).writeNamespace(forScope: row.scope)
        } catch .forbidden {
            return .skip(record, .globalFromNonRoot)
        } catch {
            return .skip(record, .unknownScope)
        }
        guard let content = redacted(row.content, record) else { return failure(row.content, record) }
        var legacy: [String: JSONValue] = ["table": .string(LegacyTable.agentMemories.rawValue), "scope": .string(row.scope)]
        if let tag = row.namespaceTag { legacy["namespace"] = .string(tag) }
        let embedding = row.embedding.flatMap { $0.count == embeddingDimensions ? $0 : nil }
        return .write(MappedRow(record: record, namespace: namespace, write: MemoryWrite(
            id: row.id, content: content, kind: .fact, source: .agent, propagation: ["legacy": .object(legacy)],
            embedding: embedding, createdAt: row.createdAt)))
    }

    private func map(_ row: LegacyKeyValue, _ record: LegacyRecord) -> MappingOutcome {
        if row.expired { return .skip(record, .expired) }
        switch tree.lineage(of: row.workspaceID) {
        case .success: break
        case .failure(.unknownWorkspace): return .skip(record, .unknownWorkspace)
        case .failure(.brokenTree): return .skip(record, .brokenTree)
        }
        guard !row.key.isEmpty, row.key.utf8.count <= limits.maxKeyBytes else { return .skip(record, .invalidKey) }
        guard let content = redacted(row.value, record) else { return failure(row.value, record) }
        let legacy: [String: JSONValue] = ["table": .string(LegacyTable.workspaceMemory.rawValue), "id": .string(row.id)]
        return .write(MappedRow(record: record, namespace: "workspace:" + row.workspaceID, write: MemoryWrite(
            id: row.id, content: content, kind: .kv, source: .agent, expiresAt: row.expiresAt,
            propagation: ["legacy": .object(legacy)], createdAt: row.updatedAt, key: row.key, version: row.version)))
    }

    /// The content the plugin will hold, or nil when it cannot hold it.
    private func redacted(_ content: String, _ record: LegacyRecord) -> String? {
        let text = redactor.redact(content).text
        guard text.contains(where: { !$0.isWhitespace }), text.utf8.count <= limits.maxContentBytes else { return nil }
        return text
    }

    private func failure(_ content: String, _ record: LegacyRecord) -> MappingOutcome {
        content.contains(where: { !$0.isWhitespace }) ? .skip(record, .contentTooLarge) : .skip(record, .emptyContent)
    }
}
