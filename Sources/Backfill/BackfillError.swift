import MemoryPluginClient

/// Why a run stopped before the end. Row-level problems never stop a run; they are
/// counted as errors or skips.
public enum BackfillError: Error, Sendable, CustomStringConvertible {
    /// The plugin cannot take requests (unreachable, timed out, breaker open, 5xx, a
    /// reply that is not the contract's).
    case plugin(MemoryPluginClientError)
    /// The legacy database failed (connection lost, a query failed).
    case database(String)
    /// The legacy database has neither table.
    case noLegacyTables

    public var description: String {
        switch self {
        case .plugin(let error): "\(error)"
        case .database(let message): "legacy database: \(message)"
        case .noLegacyTables: "the database at DATABASE_URL has neither agent_memories nor workspace_memory: nothing to backfill"
        }
    }
}
