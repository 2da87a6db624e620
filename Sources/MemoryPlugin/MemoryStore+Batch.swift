import MemoryContract
import Postgres

extension MemoryStore {
    /// (+) Writes many memories, each into its own namespace, with one result per item.
    /// Non-kv items go through one libpq pipeline on one connection (about one round trip
    /// for the batch, each item its own implicit transaction, so one failure never touches
    /// its neighbours); an item equal to what is stored is reported `unchanged`. K/V items
    /// run one by one after them, through the same path as a single commit.
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
                    PostgresConnection.Statement(Self.batchCommitSQL, [
                        entry.namespace, NamespaceKind.inferred(from: entry.namespace).rawValue, entry.write.id?.lowercased(),
                        entry.write.content, entry.write.kind.rawValue, entry.write.source.rawValue, entry.write.expiresAt,
                        try Self.json(entry.write.propagation), entry.write.pin ?? false, entry.write.createdAt,
                    ])
                }
                let outcomes = try await session.pipeline(statements)
                for (entry, outcome) in zip(pipelined, outcomes) {
                    results[entry.index] = try await result(for: entry, outcome, session)
                }
                for entry in keyed {
                    do {
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
        return results.map { $0! }
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
                let inserted = try row.decode(Bool.self, "inserted")
                return BatchItemResult(index: entry.index, id: try row.decode(String.self, "id"), status: inserted ? .created : .updated)
            }
            // No row: an expired namespace, the id living in another namespace, or nothing to change.
            let expired = try await session.query(
                "SELECT 1 FROM memory_plugin.memory_namespaces WHERE name = $1 AND expires_at <= now()", [entry.namespace])
            if !expired.isEmpty {
                return BatchItemResult(index: entry.index, id: entry.write.id, status: .error, error: .notFound("namespace \(entry.namespace) has expired"))
            }
            let owner = try await session.query("SELECT namespace FROM memory_plugin.memory_records WHERE id = $1::uuid", [entry.write.id?.lowercased()])
            if let namespace = try owner.first?.decode(String.self, at: 0), namespace == entry.namespace {
                return BatchItemResult(index: entry.index, id: entry.write.id?.lowercased(), status: .unchanged)
            }
            return BatchItemResult(index: entry.index, id: entry.write.id, status: .error,
                                   error: .conflict("memory id \(entry.write.id ?? "") already exists in another namespace"))
        }
    }

    /// The single-commit statement, changed to skip writes that would change nothing and
    /// to say whether the row was inserted (xmax = 0) or updated.
    static let batchCommitSQL = """
        \(ensureNamespace)
        INSERT INTO memory_plugin.memory_records AS r
            (id, namespace, content, kind, source, expires_at, propagation, pin, created_at)
        SELECT coalesce($3::uuid, gen_random_uuid()), $1, $4, $5, $6, $7::timestamptz, $8::jsonb, $9,
               coalesce($10::timestamptz, now())
        WHERE NOT EXISTS (SELECT 1 FROM expired)
        ON CONFLICT (id) DO UPDATE
        SET content = EXCLUDED.content, kind = EXCLUDED.kind, source = EXCLUDED.source,
            expires_at = EXCLUDED.expires_at, propagation = EXCLUDED.propagation, pin = EXCLUDED.pin,
            created_at = CASE WHEN $10::timestamptz IS NULL THEN r.created_at ELSE EXCLUDED.created_at END,
            updated_at = now()
        WHERE r.namespace = EXCLUDED.namespace AND r.kind <> 'kv'
          AND (r.content, r.kind, r.source, r.expires_at, r.propagation, r.pin)
              IS DISTINCT FROM (EXCLUDED.content, EXCLUDED.kind, EXCLUDED.source, EXCLUDED.expires_at, EXCLUDED.propagation, EXCLUDED.pin)
            OR (r.namespace = EXCLUDED.namespace AND r.kind <> 'kv' AND $10::timestamptz IS NOT NULL AND r.created_at <> $10::timestamptz)
        RETURNING id, (xmax = 0) AS inserted
        """
}
