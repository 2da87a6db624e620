import Postgres
import Timestamps

/// Reads the legacy tables in batches ordered by (time, id), `agent_memories` first, then
/// `workspace_memory`: nothing holds a whole table, and no row is read twice.
///
/// Each table is read through a server-side cursor in one read-only transaction. The
/// legacy tables have no index on (time, id), so a keyset query per batch made the
/// database scan and sort the rest of the table for every batch (quadratic: 3.5 CPU
/// seconds for 100,000 rows); a cursor sorts once and hands out one batch per FETCH.
public struct LegacyReader: Sendable {
    public let pool: PostgresPool
    public let schema: LegacySchema
    /// Only these workspaces; nil for all.
    public let workspaces: [String]?
    /// Read embeddings too (only when they will be copied).
    public let readEmbeddings: Bool

    public init(pool: PostgresPool, schema: LegacySchema, workspaces: [String]?, readEmbeddings: Bool) {
        self.pool = pool
        self.schema = schema
        self.workspaces = workspaces
        self.readEmbeddings = readEmbeddings && schema.hasEmbedding
    }

    public var tables: [LegacyTable] {
        var tables: [LegacyTable] = []
        if schema.hasMemories { tables.append(.agentMemories) }
        if schema.hasKeyValues { tables.append(.workspaceMemory) }
        return tables
    }

    /// How many rows the run will scan (for the ETA).
    public func count() async throws -> Int {
        var total = 0
        for table in tables {
            let result = try await pool.query(
                "SELECT count(*) FROM public.\(table.rawValue) WHERE ($1::uuid[] IS NULL OR workspace_id = ANY($1::uuid[]))", [workspaces])
            total += try result[0].decode(Int.self, at: 0)
        }
        return total
    }

    /// Runs `body` with the batches of up to `batchSize` rows, `limit` rows in all at most,
    /// on one connection held for the whole read.
    public func withBatches<T: Sendable>(
        batchSize: Int, limit: Int?, _ body: (LegacyBatches) async throws -> T
    ) async throws -> T {
        try await pool.withConnection { session in
            try await session.transaction { session in
                try await session.simpleQuery("SET TRANSACTION READ ONLY")
                let batches = LegacyBatches(reader: self, session: session, batchSize: batchSize, limit: limit ?? Int.max)
                do {
                    let value = try await body(batches)
                    await batches.stop()
                    return value
                } catch {
                    // The connection must be idle before the transaction rolls back.
                    await batches.stop()
                    throw error
                }
            }
        }
    }

    static let cursor = "legacy_rows"

    /// The cursor's query for `table`; $1 is the workspace filter.
    func query(_ table: LegacyTable) -> String {
        switch table {
        case .agentMemories:
            // A row without a time sorts (and is kept) as the epoch rather than being lost.
            let tag = schema.hasNamespaceTag ? "namespace" : "NULL::text"
            let embedding = readEmbeddings ? "embedding::text" : "NULL::text"
            return """
                SELECT id::text, workspace_id::text, content, scope, \(tag),
                       COALESCE(created_at, updated_at, timestamptz 'epoch') AS at, \(embedding)
                FROM public.agent_memories
                WHERE $1::uuid[] IS NULL OR workspace_id = ANY($1::uuid[])
                ORDER BY at, id
                """
        case .workspaceMemory:
            let version = schema.hasKeyValueVersion ? "version" : "1::bigint"
            return """
                SELECT id::text, workspace_id::text, key, value::text, \(version), expires_at,
                       expires_at IS NOT NULL AND expires_at <= now(), updated_at
                FROM public.workspace_memory
                WHERE $1::uuid[] IS NULL OR workspace_id = ANY($1::uuid[])
                ORDER BY updated_at, id
                """
        }
    }

    /// Up to `count` rows of `table`'s open cursor.
    func fetch(_ table: LegacyTable, _ count: Int, _ session: PostgresSession) async throws -> [LegacyRecord] {
        let result = try await session.query("FETCH FORWARD \(count) FROM \(Self.cursor)")
        var rows: [LegacyRecord] = []
        rows.reserveCapacity(result.count)
        switch table {
        case .agentMemories:
            for row in result.rows {
                rows.append(.memory(LegacyMemory(
                    id: try row.decode(String.self, at: 0),
                    workspaceID: try row.decode(String?.self, at: 1),
                    content: try row.decode(String.self, at: 2),
                    scope: try row.decode(String.self, at: 3),
                    namespaceTag: try row.decode(String?.self, at: 4),
                    createdAt: try row.decode(Timestamp.self, at: 5),
                    embedding: try row.decode(PostgresVector?.self, at: 6)?.values
                )))
            }
        case .workspaceMemory:
            for row in result.rows {
                rows.append(.keyValue(LegacyKeyValue(
                    id: try row.decode(String.self, at: 0),
                    workspaceID: try row.decode(String.self, at: 1),
                    key: try row.decode(String.self, at: 2),
                    value: try row.decode(String.self, at: 3),
                    version: try row.decode(Int64.self, at: 4),
                    expiresAt: try row.decode(Timestamp?.self, at: 5),
                    expired: try row.decode(Bool.self, at: 6),
                    updatedAt: try row.decode(Timestamp.self, at: 7)
                )))
            }
        }
        return rows
    }
}

/// The batches of one read, handed out in order. While the caller maps and writes one
/// batch, the next is already being fetched, so neither the database nor the plugin
/// waits for the other.
public final class LegacyBatches {
    private let reader: LegacyReader
    private let session: PostgresSession
    private let batchSize: Int
    private var remaining: Int
    /// Tables not finished yet; the first has the open cursor when `open` is true.
    private var tables: [LegacyTable]
    private var open = false
    private var fetching: (task: Task<[LegacyRecord], any Error>, count: Int)?

    init(reader: LegacyReader, session: PostgresSession, batchSize: Int, limit: Int) {
        self.reader = reader
        self.session = session
        self.batchSize = batchSize
        self.remaining = limit
        self.tables = reader.tables
    }

    /// The next batch, or nil after the last.
    public func next() async throws -> [LegacyRecord]? {
        while remaining > 0, let table = tables.first {
            if !open {
                try await session.query("DECLARE \(LegacyReader.cursor) NO SCROLL CURSOR FOR \(reader.query(table))", [reader.workspaces])
                open = true
            }
            let pending = fetching ?? fetch(table)
            fetching = nil
            let rows = try await pending.task.value
            remaining -= rows.count
            if rows.count < pending.count {
                try await session.simpleQuery("CLOSE \(LegacyReader.cursor)")
                open = false
                tables.removeFirst()
            } else if remaining > 0 {
                fetching = fetch(table)
            }
            if !rows.isEmpty { return rows }
        }
        return nil
    }

    /// Waits for a fetch still running (after an error in the caller), so the session is idle.
    func stop() async {
        guard let pending = fetching else { return }
        fetching = nil
        pending.task.cancel()
        _ = try? await pending.task.value
    }

    private func fetch(_ table: LegacyTable) -> (task: Task<[LegacyRecord], any Error>, count: Int) {
        let count = min(batchSize, remaining)
        let (reader, session) = (reader, session)
        return (Task { try await reader.fetch(table, count, session) }, count)
    }
}
