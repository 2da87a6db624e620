import MemoryContract
import Postgres

extension MemoryStore {
    /// What an import of one `kv` entry did.
    struct KeyValueImport {
        var id: String
        var version: Int64
        var status: BatchStatus
    }

    /// (+) Stores a `kv` entry exactly as given, version included (a write with `version`:
    /// backfill and admin import). The key is the identity: an entry already equal to the
    /// write is left alone and reported `unchanged`, so a re-run writes nothing; a live
    /// stored entry with a higher version is newer than the import and wins (409). An
    /// existing entry keeps its id.
    func importKeyValue(_ namespace: String, _ write: MemoryWrite, _ session: PostgresSession) async throws -> KeyValueImport {
        let key = write.key!
        let version = write.version!
        let result = try await session.query("""
            \(Self.ensureNamespace)
            INSERT INTO memory_plugin.memory_records AS r
                (id, namespace, content, kind, source, expires_at, propagation, pin, created_at, key, version)
            SELECT coalesce($10::uuid, gen_random_uuid()), $1, $4, 'kv', $5, $6::timestamptz, $7::jsonb, $8,
                   coalesce($9::timestamptz, now()), $3, $11
            WHERE NOT EXISTS (SELECT 1 FROM expired)
            ON CONFLICT (namespace, key) WHERE key IS NOT NULL DO UPDATE
            SET content = EXCLUDED.content, source = EXCLUDED.source, expires_at = EXCLUDED.expires_at,
                propagation = EXCLUDED.propagation, pin = EXCLUDED.pin, version = EXCLUDED.version, updated_at = now(),
                created_at = CASE WHEN $9::timestamptz IS NULL THEN r.created_at ELSE EXCLUDED.created_at END
            WHERE (r.version <= EXCLUDED.version OR (r.expires_at IS NOT NULL AND r.expires_at <= now()))
              AND ((r.content, r.source, r.expires_at, r.propagation, r.pin, r.version)
                    IS DISTINCT FROM (EXCLUDED.content, EXCLUDED.source, EXCLUDED.expires_at, EXCLUDED.propagation, EXCLUDED.pin, EXCLUDED.version)
                   OR ($9::timestamptz IS NOT NULL AND r.created_at <> $9::timestamptz))
            RETURNING id, version, (xmax = 0) AS inserted
            """, [
                namespace, NamespaceKind.inferred(from: namespace).rawValue, key, write.content, write.source.rawValue,
                write.expiresAt, try Self.json(write.propagation), write.pin ?? false, write.createdAt, write.id?.lowercased(), version,
            ])
        if let row = result.first {
            let inserted = try row.decode(Bool.self, "inserted")
            return KeyValueImport(id: try row.decode(String.self, "id"), version: try row.decode(Int64.self, "version"), status: inserted ? .created : .updated)
        }
        try await refuseExpiredNamespace(namespace, session)
        let current = try await session.query(
            "SELECT id, version FROM memory_plugin.memory_records r WHERE namespace = $1 AND key = $2", [namespace, key])
        guard let row = current.first else {
            throw ContractError.conflict("key \(key) could not be imported")
        }
        let stored = try row.decode(Int64.self, "version")
        if stored > version {
            throw ContractError.conflict(
                "key \(key) holds version \(stored), newer than the imported version \(version)",
                details: ["current_version": .number(Double(stored))])
        }
        return KeyValueImport(id: try row.decode(String.self, "id"), version: stored, status: .unchanged)
    }
}
