import Timestamps

/// The legacy tables `backfill` reads.
public enum LegacyTable: String, Sendable, Codable, CaseIterable {
    /// Scoped memories (LOCAL, TEAM, GLOBAL); migrations 008, 017, 031 of the reference.
    case agentMemories = "agent_memories"
    /// Per-workspace K/V with versions and expiry; migrations 006 and 023.
    case workspaceMemory = "workspace_memory"
}

/// One row of `agent_memories`.
public struct LegacyMemory: Sendable, Equatable {
    public var id: String
    public var workspaceID: String?
    public var content: String
    public var scope: String
    /// The v1 namespace tag (`general` unless an agent chose one); nil before migration 017.
    public var namespaceTag: String?
    public var createdAt: Timestamp
    public var embedding: [Float]?
}

/// One row of `workspace_memory`.
public struct LegacyKeyValue: Sendable, Equatable {
    public var id: String
    public var workspaceID: String
    public var key: String
    /// The JSON value as text.
    public var value: String
    public var version: Int64
    public var expiresAt: Timestamp?
    /// Already expired by the database's clock.
    public var expired: Bool
    /// The table has no created_at; the last write time is the best history it holds.
    public var updatedAt: Timestamp
}

public enum LegacyRecord: Sendable, Equatable {
    case memory(LegacyMemory)
    case keyValue(LegacyKeyValue)

    public var id: String {
        switch self {
        case .memory(let row): row.id
        case .keyValue(let row): row.id
        }
    }

    public var table: LegacyTable {
        switch self {
        case .memory: .agentMemories
        case .keyValue: .workspaceMemory
        }
    }

    public var workspaceID: String? {
        switch self {
        case .memory(let row): row.workspaceID
        case .keyValue(let row): row.workspaceID
        }
    }
}
