import FoundationEssentials
import MemoryContract
import Postgres
import TenantCrypto

/// The memory plugin's storage in PostgreSQL schema `memory_plugin`: namespaces and
/// memories, with TTL, pins, full-text search and K/V entries. Every method validates
/// nothing itself (the HTTP layer does) and maps database failures to contract errors.
public struct MemoryStore: Sendable {
    public let pool: PostgresPool
    /// Dimensions of the `embedding` column; nil when pgvector is not available, in which
    /// case no statement mentions the column.
    public let embeddingDimensions: Int?
    /// The single-commit statement, with or without the embedding column.
    let commitSQL: String
    /// The batch route's set-based statement for facts, with or without the embedding column.
    let factSetSQL: String
    /// Refreshes planner statistics after bulk writes (the batch route).
    let statistics: StatisticsRefresh
    let knownNamespaces = KnownNamespaces()
    /// Concurrent single commits share statements and round trips (see `CommitBatches`).
    let coalescer: CommitCoalescer<CommitBatches.CommitJob, CommitBatches.CommitResult>
    let batches: CommitBatches

    public init(pool: PostgresPool, embeddingDimensions: Int? = nil, statistics: StatisticsRefresh? = nil) {
        self.pool = pool
        self.embeddingDimensions = embeddingDimensions
        self.statistics = statistics ?? StatisticsRefresh(pool: pool)
        self.commitSQL = Self.commitSQL(embedding: embeddingDimensions != nil)
        let batches = CommitBatches(pool: pool, embedding: embeddingDimensions != nil)
        self.batches = batches
        self.coalescer = CommitCoalescer { await batches.execute($0) }
        self.factSetSQL = Self.factSetSQL(embedding: embeddingDimensions != nil)
    }

    static let memoryColumns = "id, namespace, content, kind, source, expires_at, propagation, pin, created_at, key, version"
    static let liveNamespace = "NOT EXISTS (SELECT 1 FROM memory_plugin.memory_namespaces n WHERE n.name = r.namespace AND n.expires_at <= now())"
    /// Creates namespace $1 with kind $2 if missing; `expired` has a row when it has expired.
    static let ensureNamespace = """
        WITH ensured AS (
            INSERT INTO memory_plugin.memory_namespaces (name, kind) VALUES ($1, $2)
            ON CONFLICT (name) DO NOTHING
        ), expired AS (
            SELECT 1 FROM memory_plugin.memory_namespaces WHERE name = $1 AND expires_at <= now()
        )
        """
    static let liveMemory = "(r.expires_at IS NULL OR r.expires_at > now())"

    // MARK: - Namespaces

    public func upsertNamespace(_ name: String, _ body: NamespaceUpsert) async throws(ContractError) -> Namespace {
        try await mapped {
            let result = try await pool.query("""
                INSERT INTO memory_plugin.memory_namespaces (name, kind, expires_at, metadata)
                VALUES ($1, $2, $3, $4::jsonb)
                ON CONFLICT (name) DO UPDATE
                SET kind = EXCLUDED.kind, expires_at = EXCLUDED.expires_at, metadata = EXCLUDED.metadata, updated_at = now()
                RETURNING name, kind, expires_at, metadata, created_at
                """, [name, body.kind.rawValue, body.expiresAt, try Self.json(body.metadata)])
            return try Self.namespace(result[0])
        }
    }

    public func patchNamespace(_ name: String, _ patch: NamespacePatch) async throws(ContractError) -> Namespace {
        try await mapped {
            // Explicit null clears, absent keeps: each field carries a "set it" flag.
            let (setExpiry, expiry): (Bool, Timestamp?) = switch patch.expiresAt {
            case .absent: (false, nil)
            case .null: (true, nil)
            case .value(let value): (true, value)
            }
            let (setMetadata, metadata): (Bool, [String: JSONValue]?) = switch patch.metadata {
            case .absent: (false, nil)
            case .null: (true, nil)
            case .value(let value): (true, value)
            }
            let result = try await pool.query("""
                UPDATE memory_plugin.memory_namespaces
                SET expires_at = CASE WHEN $2 THEN $3::timestamptz ELSE expires_at END,
                    metadata = CASE WHEN $4 THEN $5::jsonb ELSE metadata END,
                    updated_at = now()
                WHERE name = $1 AND (expires_at IS NULL OR expires_at > now())
                RETURNING name, kind, expires_at, metadata, created_at
                """, [name, setExpiry, expiry, setMetadata, try Self.json(metadata)])
            guard let row = result.first else { throw ContractError.notFound("namespace \(name) not found") }
            return try Self.namespace(row)
        }
    }

    public func deleteNamespace(_ name: String) async throws(ContractError) {
        try await mapped {
            knownNamespaces.remove(name)
            let result = try await pool.query("DELETE FROM memory_plugin.memory_namespaces WHERE name = $1", [name])
            guard result.affectedRows > 0 else { throw ContractError.notFound("namespace \(name) not found") }
        }
    }

    // MARK: - Writing

    /// Commits one memory. The namespace is created on first use (kind from its prefix);
    /// an existing namespace's TTL and metadata are never touched by a commit.
    public func commit(_ namespace: String, _ write: MemoryWrite) async throws(ContractError) -> MemoryWriteResponse {
        try await mapped {
            guard write.kind != .kv else {
                return try await pool.withConnection { session in try await commit(namespace, write, session) }
            }
            // Concurrent commits share round trips through the coalescer. Outside a
            // transaction, a supplied id may try the plain insert first: a failed insert
            // aborts nothing else there.
            return try await commitFact(namespace, write, suppliedIDMayTryInsert: true, run: { job in try await coalescer.run(job).get() }, explain: { id in
                try await pool.withConnection { session in try await explainEmptyCommit(namespace, id: id, session) }
            })
        }
    }

    func commit(_ namespace: String, _ write: MemoryWrite, _ session: PostgresSession) async throws -> MemoryWriteResponse {
        if write.kind == .kv, write.version != nil {
            let imported = try await importKeyValue(namespace, write, session)
            return MemoryWriteResponse(id: imported.id, namespace: namespace, version: imported.version)
        }
        if write.kind == .kv {
            return try await commitKeyValue(namespace, NamespaceKind.inferred(from: namespace).rawValue, write, try Self.json(write.propagation), session)
        }
        let batches = batches
        return try await commitFact(namespace, write, suppliedIDMayTryInsert: false, run: { job in
            let statement = batches.statement(for: job)
            return try CommitBatches.outcome(of: job, .success(try await session.query(prepared: statement.sql, statement.parameters))).get()
        }, explain: { id in
            try await explainEmptyCommit(namespace, id: id, session)
        })
    }

    /// A non-kv commit, whichever way its statements reach the database (`run`); `explain`
    /// turns "no row came back" into the id or the refusal.
    /// Clients that give every write an id (ours do, so that a request can be sent again
    /// after a stale keep-alive connection) keep the cheap insert with
    /// `suppliedIDMayTryInsert`.
    private func commitFact(
        _ namespace: String, _ write: MemoryWrite, suppliedIDMayTryInsert: Bool,
        run: (CommitBatches.CommitJob) async throws -> CommitBatches.CommitOutcome, explain: (String?) async throws -> String
    ) async throws -> MemoryWriteResponse {
        if write.id == nil || suppliedIDMayTryInsert, knownNamespaces.contains(namespace) {
            let fact = CommitBatches.FreshFact(namespace, write)
            do {
                if case .inserted(true) = try await run(.fresh(fact)) {
                    statistics.noteCommit()
                    return MemoryWriteResponse(id: fact.id, namespace: namespace)
                }
                // Nothing written: the namespace has expired.
                return MemoryWriteResponse(id: try await explain(nil), namespace: namespace)
            } catch let error as PostgresError where error.sqlState == .foreignKeyViolation {
                // Deleted since we saw it: the full statement below creates it again.
                knownNamespaces.remove(namespace)
            } catch let error as PostgresError where error.sqlState == .uniqueViolation && write.id != nil {
                // The supplied id exists (a repeated request, an update, or another
                // namespace's memory): the full statement below tells which.
            }
        }
        guard case .rows(let result) = try await run(.statement(.init(commitSQL, try commitParameters(namespace, write), prepared: true))) else {
            preconditionFailure("a statement answers with rows")
        }
        if let row = result.first {
            knownNamespaces.insert(namespace)
            statistics.noteCommit()
            return MemoryWriteResponse(id: try row.decode(String.self, "id"), namespace: namespace)
        }
        return MemoryWriteResponse(id: try await explain(write.id), namespace: namespace)
    }

    /// One statement for a non-kv commit: create the namespace if needed, refuse an
    /// expired one, insert, or (with a supplied id) update the memory if it lives in this
    /// namespace and anything differs. `inserted` tells a new row (xmax = 0) from an update;
    /// `unchanged` marks a memory already equal to the write, so an idempotent re-run (a
    /// backfill) costs one statement per item. No row: expired namespace or conflict.
    static func commitSQL(embedding: Bool) -> String {
        let column = embedding ? ", embedding" : ""
        return """
            \(ensureNamespace), written AS (
            INSERT INTO memory_plugin.memory_records AS r
                (id, namespace, content, kind, source, expires_at, propagation, pin, created_at\(column))
            SELECT coalesce($3::uuid, gen_random_uuid()), $1, $4, $5, $6, $7::timestamptz, $8::jsonb, $9,
                   coalesce($10::timestamptz, now())\(embedding ? ", $11::vector" : "")
            WHERE NOT EXISTS (SELECT 1 FROM expired)
            ON CONFLICT (id) DO UPDATE
            SET content = EXCLUDED.content, kind = EXCLUDED.kind, source = EXCLUDED.source,
                expires_at = EXCLUDED.expires_at, propagation = EXCLUDED.propagation, pin = EXCLUDED.pin,\(embedding ? " embedding = EXCLUDED.embedding," : "")
                created_at = CASE WHEN $10::timestamptz IS NULL THEN r.created_at ELSE EXCLUDED.created_at END,
                updated_at = now()
            WHERE r.namespace = EXCLUDED.namespace AND r.kind <> 'kv'
              AND ((r.content, r.kind, r.source, r.expires_at, r.propagation, r.pin\(embedding ? ", r.embedding" : ""))
                    IS DISTINCT FROM (EXCLUDED.content, EXCLUDED.kind, EXCLUDED.source, EXCLUDED.expires_at, EXCLUDED.propagation, EXCLUDED.pin\(embedding ? ", EXCLUDED.embedding" : ""))
                   OR ($10::timestamptz IS NOT NULL AND r.created_at <> $10::timestamptz))
            RETURNING id, (xmax = 0) AS inserted
            )
            SELECT id, inserted, false AS unchanged FROM written
            UNION ALL
            SELECT s.id, false, true FROM memory_plugin.memory_records s
            WHERE NOT EXISTS (SELECT 1 FROM written) AND NOT EXISTS (SELECT 1 FROM expired)
              AND s.id = $3::uuid AND s.namespace = $1 AND s.kind <> 'kv'
            """
    }

    func commitParameters(_ namespace: String, _ write: MemoryWrite) throws -> [any PostgresEncodable] {
        var parameters: [any PostgresEncodable] = [
            namespace, NamespaceKind.inferred(from: namespace).rawValue, write.id?.lowercased(), write.content,
            write.kind.rawValue, write.source.rawValue, write.expiresAt, try Self.json(write.propagation), write.pin ?? false,
            write.createdAt,
        ]
        if embeddingDimensions != nil { parameters.append(write.embedding.map(PostgresVector.init)) }
        return parameters
    }

    /// Why a commit returned no row: the namespace expired (404), the id lives in another
    /// namespace or belongs to a K/V entry (409), or the stored memory already equals the
    /// write, in which case its id is returned.
    func explainEmptyCommit(_ namespace: String, id: String?, _ session: PostgresSession) async throws -> String {
        try await refuseExpiredNamespace(namespace, session)
        let owner = try await session.query("SELECT namespace, kind FROM memory_plugin.memory_records WHERE id = $1::uuid", [id?.lowercased()])
        if let row = owner.first, try row.decode(String.self, "namespace") == namespace, try row.decode(String.self, "kind") != "kv" {
            return id!.lowercased()
        }
        throw ContractError.conflict("memory id \(id ?? "") already exists in another namespace or as a kv entry")
    }

    private func commitKeyValue(
        _ namespace: String, _ namespaceKind: String, _ write: MemoryWrite, _ propagation: PostgresJSON?, _ session: PostgresSession
    ) async throws -> MemoryWriteResponse {
        let key = write.key!
        let result: PostgresResult
        switch write.ifMatchVersion {
        case let expected? where expected > 0:
            // Replace exactly version `expected` of a live entry; anything else is a conflict.
            result = try await session.query("""
                WITH expired AS (SELECT 1 FROM memory_plugin.memory_namespaces WHERE name = $1 AND expires_at <= now())
                UPDATE memory_plugin.memory_records AS r
                SET content = $3, source = $4, expires_at = $5::timestamptz, propagation = $6::jsonb, pin = $7,
                    version = r.version + 1, updated_at = now()
                WHERE r.namespace = $1 AND r.key = $2 AND r.kind = 'kv' AND r.version = $8
                  AND (r.expires_at IS NULL OR r.expires_at > now()) AND NOT EXISTS (SELECT 1 FROM expired)
                  AND ($9::uuid IS NULL OR r.id = $9::uuid)
                RETURNING id, version
                """, [
                    namespace, key, write.content, write.source.rawValue, write.expiresAt, propagation, write.pin ?? false,
                    expected, write.id?.lowercased(),
                ])
        default:
            let createOnly = write.ifMatchVersion == 0
            // An expired entry counts as absent: it is replaced and starts again at version 1.
            result = try await session.query("""
                \(Self.ensureNamespace)
                INSERT INTO memory_plugin.memory_records AS r
                    (id, namespace, content, kind, source, expires_at, propagation, pin, created_at, key, version)
                SELECT coalesce($10::uuid, gen_random_uuid()), $1, $4, 'kv', $5, $6::timestamptz, $7::jsonb, $8,
                       coalesce($9::timestamptz, now()), $3, 1
                WHERE NOT EXISTS (SELECT 1 FROM expired)
                ON CONFLICT (namespace, key) WHERE key IS NOT NULL DO UPDATE
                SET content = EXCLUDED.content, source = EXCLUDED.source, expires_at = EXCLUDED.expires_at,
                    propagation = EXCLUDED.propagation, pin = EXCLUDED.pin, updated_at = now(),
                    version = CASE WHEN r.expires_at IS NOT NULL AND r.expires_at <= now() THEN 1 ELSE r.version + 1 END,
                    created_at = CASE WHEN r.expires_at IS NOT NULL AND r.expires_at <= now() THEN EXCLUDED.created_at ELSE r.created_at END
                WHERE (NOT $11 OR (r.expires_at IS NOT NULL AND r.expires_at <= now()))
                  AND ($10::uuid IS NULL OR r.id = $10::uuid)
                RETURNING id, version
                """, [
                    namespace, namespaceKind, key, write.content, write.source.rawValue, write.expiresAt, propagation,
                    write.pin ?? false, write.createdAt, write.id?.lowercased(), createOnly,
                ])
        }
        if let row = result.first {
            return MemoryWriteResponse(id: try row.decode(String.self, at: 0), namespace: namespace, version: try row.decode(Int64.self, at: 1))
        }
        try await refuseExpiredNamespace(namespace, session)
        let current = try await session.query("""
            SELECT version, id FROM memory_plugin.memory_records r
            WHERE namespace = $1 AND key = $2 AND \(Self.liveMemory)
            """, [namespace, key])
        let currentVersion = try current.first?.decode(Int64.self, at: 0) ?? 0
        if let id = write.id, let existing = try current.first?.decode(String.self, at: 1), existing != id.lowercased() {
            throw ContractError.conflict("key \(key) belongs to another memory id", details: ["current_version": .number(Double(currentVersion))])
        }
        throw ContractError.conflict(
            "if_match_version \(write.ifMatchVersion ?? 0) does not match the current version \(currentVersion) of key \(key)",
            details: ["current_version": .number(Double(currentVersion))]
        )
    }

    func refuseExpiredNamespace(_ namespace: String, _ session: PostgresSession) async throws {
        let expired = try await session.query(
            "SELECT 1 FROM memory_plugin.memory_namespaces WHERE name = $1 AND expires_at <= now()", [namespace])
        if !expired.isEmpty { throw ContractError.notFound("namespace \(namespace) has expired") }
    }

    /// Deletes a memory only when it lives in the requesting namespace; anything else is
    /// 404, so a caller learns nothing about other namespaces.
    public func forget(id: String, requestedBy namespace: String) async throws(ContractError) {
        try await mapped {
            let result = try await pool.query(
                "DELETE FROM memory_plugin.memory_records WHERE id = $1::uuid AND namespace = $2", [id.lowercased(), namespace])
            guard result.affectedRows > 0 else { throw ContractError.notFound("memory \(id) not found in \(namespace)") }
        }
    }

    // MARK: - Reading

    /// Every live memory of a namespace, oldest first, `limit` at a time; the cursor is
    /// opaque to clients (created_at and id of the last row).
    public func page(_ namespace: String, after cursor: String?, limit: Int) async throws(ContractError) -> MemoryPage {
        let position = try cursor.map { (text) throws(ContractError) -> (Timestamp, String) in
            guard let decoded = PageCursor.decode(text) else { throw ContractError.badRequest("after is not a cursor this plugin issued") }
            return decoded
        }
        return try await mapped {
            let exists = try await pool.query(
                "SELECT 1 FROM memory_plugin.memory_namespaces WHERE name = $1 AND (expires_at IS NULL OR expires_at > now())", [namespace])
            guard !exists.isEmpty else { throw ContractError.notFound("namespace \(namespace) not found") }
            let result = try await pool.query("""
                SELECT \(Self.memoryColumns), NULL::float8 AS score
                FROM memory_plugin.memory_records r
                WHERE r.namespace = $1 AND \(Self.liveMemory)
                  AND ($2::timestamptz IS NULL OR (r.created_at, r.id) > ($2::timestamptz, $3::uuid))
                ORDER BY created_at, id
                LIMIT $4
                """, [namespace, position?.0, position?.1, limit + 1])
            var memories = try result.rows.map(Self.memory)
            var next: String?
            if memories.count > limit {
                memories.removeLast()
                next = memories.last.map { PageCursor.encode($0.createdAt, $0.id) }
            }
            return MemoryPage(memories: memories, nextCursor: next)
        }
    }

    /// Deletes expired memories and namespaces, at most `batchSize` rows a statement, so
    /// the janitor never holds long locks. Returns the expired memories plus expired
    /// namespaces deleted (a namespace's own memories go with it and are not counted).
    public func deleteExpired(batchSize: Int = 1000) async throws(ContractError) -> Int {
        try await mapped {
            var deleted = 0
            while true {
                let result = try await pool.query("""
                    DELETE FROM memory_plugin.memory_records WHERE id IN (
                        SELECT id FROM memory_plugin.memory_records WHERE expires_at <= now() LIMIT $1)
                    """, [batchSize])
                deleted += result.affectedRows
                if result.affectedRows < batchSize { break }
            }
            while true {
                let result = try await pool.query("""
                    DELETE FROM memory_plugin.memory_namespaces WHERE name IN (
                        SELECT name FROM memory_plugin.memory_namespaces WHERE expires_at <= now() LIMIT $1)
                    """, [max(1, batchSize / 10)])
                deleted += result.affectedRows
                if result.affectedRows < max(1, batchSize / 10) { break }
            }
            return deleted
        }
    }

    /// True when the database answers.
    public func isHealthy() async -> Bool {
        (try? await pool.query("SELECT 1")) != nil
    }

    // MARK: - Row mapping

    static func memory(_ row: PostgresRow) throws -> Memory {
        Memory(
            id: try row.decode(String.self, "id"),
            namespace: try row.decode(String.self, "namespace"),
            content: try row.decode(String.self, "content"),
            kind: MemoryKind(rawValue: try row.decode(String.self, "kind")) ?? .fact,
            source: MemorySource(rawValue: try row.decode(String.self, "source")) ?? .agent,
            expiresAt: try row.decode(Timestamp?.self, "expires_at"),
            propagation: try row.decode(PostgresJSON?.self, "propagation").map { try $0.decode([String: JSONValue].self) },
            pin: try row.decode(Bool.self, "pin"),
            createdAt: try row.decode(Timestamp.self, "created_at"),
            score: try row.decode(Double?.self, "score"),
            key: try row.decode(String?.self, "key"),
            version: try row.decode(String?.self, "key") == nil ? nil : try row.decode(Int64.self, "version")
        )
    }

    static func namespace(_ row: PostgresRow) throws -> Namespace {
        Namespace(
            name: try row.decode(String.self, "name"),
            kind: NamespaceKind(rawValue: try row.decode(String.self, "kind")) ?? .custom,
            expiresAt: try row.decode(Timestamp?.self, "expires_at"),
            metadata: try row.decode(PostgresJSON?.self, "metadata").map { try $0.decode([String: JSONValue].self) },
            createdAt: try row.decode(Timestamp.self, "created_at")
        )
    }

    static func json(_ object: [String: JSONValue]?) throws -> PostgresJSON? {
        guard let object, !object.isEmpty else { return nil }
        return try PostgresJSON(encoding: object)
    }

    /// `%`, `_` and `\` match themselves in a LIKE pattern after this.
    static func escapeLike(_ text: String) -> String {
        var out = ""
        for char in text {
            if char == "%" || char == "_" || char == "\\" { out.append("\\") }
            out.append(char)
        }
        return out
    }
}

/// The listing cursor: base64url of "<created_at microseconds>:<id>".
enum PageCursor {
    static func encode(_ createdAt: Timestamp, _ id: String) -> String {
        Base64.encodeURLSafe(Array("\(createdAt.microseconds):\(id)".utf8))
    }

    static func decode(_ cursor: String) -> (Timestamp, String)? {
        guard let bytes = Base64.decode(cursor), let text = String(validating: bytes, as: UTF8.self),
            let colon = text.firstIndex(of: ":"), let micros = Int64(text[..<colon])
        else { return nil }
        let id = String(text[text.index(after: colon)...])
        guard (try? Validate.memoryID(id)) != nil else { return nil }
        return (Timestamp(microseconds: micros), id)
    }
}
