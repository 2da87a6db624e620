import MemoryContract
import Postgres

extension MemoryStore {
    /// (+) Writes many memories, each into its own namespace, with one result per item.
    /// The batch's facts run as one set-based statement and its kv imports as another,
    /// both sent in one pipeline (see `BatchPlan` and `MemoryStore+SetWrites`). When a set
    /// statement fails as a whole (a value the database refuses), its items are run again
    /// one statement each, so the bad item fails alone. The per-item path: non-kv items
    /// in one libpq pipeline (each its own implicit transaction), then kv items one by one
    /// through the same path as a single commit. An item equal to what is stored is
    /// reported `unchanged`; a kv import (a write with `version`) too.
    public func batch(_ items: consuming [BatchItem], limits: ContractLimits) async throws(ContractError) -> [BatchItemResult] {
        var results = [BatchItemResult?](repeating: nil, count: items.count)
        var valid: [PlannedWrite] = []
        valid.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            do throws(ContractError) {
                guard let namespace = item.namespace else { throw ContractError.badRequest("namespace is required") }
                try Validate.namespace(namespace, limits: limits)
                var write = try item.write.get()
                if write.id == "" { write.id = nil }
                try Validate.memoryWrite(write, limits: limits)
                valid.append(PlannedWrite(index: index, namespace: namespace, write: write))
            } catch {
                results[index] = BatchItemResult(index: index, id: nil, status: .error, error: error)
            }
        }
        // Only the valid writes are kept from here on: a batch should be held about once.
        items = []
        var plan = BatchPlan(valid)
        valid = []
        try await mapped {
            var sets: [(items: ArraySlice<PlannedWrite>, versions: Bool)] = []
            var statements: [PostgresConnection.Statement] = []
            for chunk in Self.setChunks(plan.facts) {
                sets.append((chunk, false))
                statements.append(factSetStatement(chunk))
            }
            for chunk in Self.setChunks(plan.imports) {
                sets.append((chunk, true))
                statements.append(keyValueImportSetStatement(chunk))
            }
            let setResults = try await runSets(statements)
            statements = []  // their parameters are a second copy of the batch's arrays
            try await pool.withConnection { session in
                for (set, outcome) in zip(sets, setResults) {
                    switch outcome {
                    case .success(let rows):
                        for entry in try Self.setOutcomes(rows, count: set.items.count, versions: set.versions) {
                            let item = set.items[set.items.startIndex + entry.position]
                            results[item.index] = Self.result(entry, for: item)
                        }
                    case .failure(let error):
                        if error.isConnectionProblem { throw error }
                        // One value the database refuses fails the whole statement: find it item by item.
                        if set.versions { plan.keyed += set.items } else { plan.pipelined += set.items }
                    }
                }
                plan.pipelined.sort { $0.index < $1.index }
                plan.keyed.sort { $0.index < $1.index }
                let statements = try plan.pipelined.map { entry in
                    PostgresConnection.Statement(commitSQL, try commitParameters(entry.namespace, entry.write), prepared: true)
                }
                let outcomes = try await session.pipeline(statements)
                for (entry, outcome) in zip(plan.pipelined, outcomes) {
                    results[entry.index] = try await result(for: entry, outcome, session)
                }
                for entry in plan.keyed {
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

    /// Runs a batch's set statements at the same time, each on a connection of its own
    /// (and in its own transaction, as in a pipeline): one after the other in one backend,
    /// a 1000-item batch kept one core of the database busy while the other waited.
    private func runSets(_ statements: [PostgresConnection.Statement]) async throws -> [Result<PostgresResult, PostgresError>] {
        guard statements.count > 1 else { return try await pool.pipeline(statements) }
        return try await withThrowingTaskGroup(of: (Int, Result<PostgresResult, PostgresError>).self) { group in
            for (position, statement) in statements.enumerated() {
                group.addTask { [pool] in (position, try await pool.pipeline([statement])[0]) }
            }
            var outcomes = [Result<PostgresResult, PostgresError>?](repeating: nil, count: statements.count)
            for try await (position, outcome) in group { outcomes[position] = outcome }
            return outcomes.map { $0! }
        }
    }

    /// Rows per set statement. libpq keeps its send buffer at the size of the largest
    /// message a connection ever sent, and the plugin should stay small: 500 rows keep it
    /// near 256 KiB per connection, at one more statement per 1000-item batch.
    static let setStatementRows = 500

    static func setChunks(_ items: [PlannedWrite]) -> [ArraySlice<PlannedWrite>] {
        stride(from: 0, to: items.count, by: setStatementRows).map { items[$0..<min($0 + setStatementRows, items.count)] }
    }

    private func result(
        for entry: PlannedWrite,
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
