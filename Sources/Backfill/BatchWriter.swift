import MemoryContract
import MemoryPluginClient

/// What the plugin did with one copied row.
public enum WriteOutcome: Sendable, Equatable {
    case created, updated, unchanged
    case failed(ContractError)
}

/// Writes mapped rows through the plugin's batch route (`POST /v1/memories/batch`), one
/// result per row. An item's error is that row's alone; a failure of the request itself
/// (plugin unreachable, breaker open, a non-contract answer) ends the run.
public struct BatchWriter: Sendable {
    public let client: MemoryPluginClient

    public init(client: MemoryPluginClient) {
        self.client = client
    }

    public func write(_ rows: [MappedRow]) async throws(BackfillError) -> [WriteOutcome] {
        var outcomes: [WriteOutcome] = []
        outcomes.reserveCapacity(rows.count)
        for chunk in BatchSplitter.split(rows) {
            let results: [BatchItemResult]
            do {
                results = try await client.batch(chunk.map { BatchItem(namespace: $0.namespace, write: $0.write) })
            } catch {
                throw .plugin(error)
            }
            for result in results {
                switch result.status {
                case .created: outcomes.append(.created)
                case .updated: outcomes.append(.updated)
                case .unchanged: outcomes.append(.unchanged)
                case .error: outcomes.append(.failed(result.error ?? .internal("the plugin gave no reason")))
                }
            }
        }
        return outcomes
    }
}
