import MemoryContract
import Postgres

extension MemoryStore {
    /// (+) Writes many memories, each into its own namespace, with one result per item.
    /// Non-kv items go through one libpq pipeline on one connection (about one round trip
    /// for the batch, each item its own implicit transaction, so one failure never touches
    /// its neighbours); an item equal to what is stored is reported `unchanged`. K/V items
    /// run one by one after them, through the same path as a single commit; a K/V import
    /// (a write with `version`) is `unchanged` too when the stored entry equals it.
    public func batch(_ items: [BatchItem], limits: ContractLimits) async throws(ContractError) -> [BatchItemResult] {
        var results = [BatchItemResult?](repeating: nil, count: items.count)
        var pipelined: [(index: Int, namespace: String, write: MemoryWrite)] = []
        var keyed: [(index: Int, namespace: String, write: MemoryWrite)] = []
        for (index, item) in items.enumerated() {
            do throws(ContractError) {
                guard let namespace = item.namespace else { throw ContractError.badRequest("namespace is required") }
                try Validate.namespace(namespace, limits: limits)
                var write = try item.write.get()
                if write.id == "" { write.id = nil }
                try Validate.memoryWrite(write, limits: limits)
                if write.kind == .kv { keyed.append((index, namespace, write)) } else { pipelined.append((index, namespace, write)) }
            } catch {
                results[index] = BatchItemResult(index: index, id: nil, status: .error, error: error)
            }
        }
        try await mapped {
            try await pool.withConnection { session in
                let statements = try pipelined.map { entry in
                    PostgresConnection.Statement(commitSQL, try commitParameters(entry.namespace, entry.write), prepared: true)
                }
                let outcomes = try await session.pipeline(statements)
                for (entry, outcome) in zip(pipelined, outcomes) {
                    results[entry.index] = try await result(for: entry, outcome, session)
                }
                for entry in keyed {
                    do {
                        if entry.write.version != nil {
                            let imported = try await importKeyValue(entry.namespace, entry.write, session)
                            results[entry.index] = BatchItemResult(index: entry.index, id: imported.id, status: imported.status, version: imported.version)
                            continue
                        }
                        let written = try await commit(entry.namespace, entry.write, session)
                        results[entry.index] = BatchItemResult(index: entry.index, id: written.id, status: written.version == 1 ? .created : .updated, version: written.version)
                    } catch let error as ContractError {
                        results[entry.index] = BatchItemResult(index: entry.index, id: entry.write.id, status: .error, error: error)
                    } catch let error as PostgresError where !error.isConnectionProblem {
                        results[entry.index] = BatchItemResult(index: entry.index, id: entry.write.id, status: .error, error: .from(error))
                    }
                }
            }
        }
        let written = results.map { $0! }
        statistics.noteBulkWrite(rows: written.count { $0.status == .created || $0.status == .updated })
        return written
    }

    private func result(
        for entry: (index: Int, namespace: String, write: MemoryWrite),
        _ outcome: Result<PostgresResult, PostgresError>, _ session: PostgresSession
    ) async throws -> BatchItemResult {
        switch outcome {
        case .failure(let error):
            if error.isConnectionProblem { throw error }
            return BatchItemResult(index: entry.index, id: entry.write.id, status: .error, error: .from(error))
        case .success(let rows):
            if let row = rows.first {
                let status: BatchStatus = try row.decode(Bool.self, "unchanged") ? .unchanged : try row.decode(Bool.self, "inserted") ? .created : .updated
                return BatchItemResult(index: entry.index, id: try row.decode(String.self, "id"), status: status)
            }
            do {
                let id = try await explainEmptyCommit(entry.namespace, id: entry.write.id, session)
                return BatchItemResult(index: entry.index, id: id, status: .unchanged)
            } catch let error as ContractError {
                return BatchItemResult(index: entry.index, id: entry.write.id, status: .error, error: error)
            }
        }
    }
}
