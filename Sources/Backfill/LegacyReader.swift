import Postgres
import Timestamps

/// Reads the legacy tables in keyset batches ordered by (time, id): each query returns
/// at most one batch, so nothing holds the whole table, and a batch is never read twice.
/// `agent_memories` first, then `workspace_memory`.
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

    /// Where the next batch starts: after this (time, id) of this table.
    public struct Position: Sendable, Equatable {
        public var table: LegacyTable
        public var after: (Timestamp, String)?

        public static func == (lhs: Position, rhs: Position) -> Bool {
            lhs.table == rhs.table && lhs.after?.0 == rhs.after?.0 && lhs.after?.1 == rhs.after?.1
        }
    }

    public var tables: [LegacyTable] {
        var tables: [LegacyTable] = []
        if schema.hasMemories { tables.append(.agentMemories) }
        if schema.hasKeyValues { tables.append(.workspaceMemory) }
        return tables
    }

    public var start: Position? { tables.first.map { Position(table: $0, after: nil) } }

    /// How many rows the run will scan (for the ETA).
    public func count() async throws -> Int {
        var total = 0
        for table in tables {
            let result = try await pool.query(
                "SELECT count(*) FROM public.\(table.rawValue) WHERE ($1::uuid[] IS NULL OR workspace_id = ANY($1::uuid[]))", [workspaceFilter])
            total += try result[0].decode(Int.self, at: 0)
        }
        return total
    }

    /// Up to `limit` rows from `position`, and where the batch after it starts (nil at the end).
    public func batch(from position: Position, limit: Int) async throws -> (rows: [LegacyRecord], next: Position?) {
        let rows: [LegacyRecord]
        switch position.table {
        case .agentMemories: rows = try await memories(after: position.after, limit: limit)
        case .workspaceMemory: rows = try await keyValues(after: position.after, limit: limit)
        }
        if rows.count == limit, let last = rows.last {
            return (rows, Position(table: position.table, after: Self.key(of: last)))
        }
        let following = tables.firstIndex(of: position.table).flatMap { $0 + 1 < tables.count ? tables[$0 + 1] : nil }
        return (rows, following.map { Position(table: $0, after: nil) })
    }

    static func key(of record: LegacyRecord) -> (Timestamp, String) {
        switch record {
        case .memory(let row): (row.createdAt, row.id)
        case .keyValue(let row): (row.updatedAt, row.id)
        }
    }

    private var workspaceFilter: [String]? { workspaces }

    // A row without a time sorts (and is kept) as the epoch rather than being lost.
    private func memories(after: (Timestamp, String)?, limit: Int) async throws -> [LegacyRecord] {
        let tag = schema.hasNamespaceTag ? "namespace" : "NULL::text"
        let embedding = readEmbeddings ? "embedding::text" : "NULL::text"
        let result = try await pool.query("""
            SELECT id::text, workspace_id::text, content, scope, \(tag),
                   COALESCE(created_at, updated_at, timestamptz 'epoch') AS at, \(embedding)
            FROM public.agent_memories
            WHERE ($1::timestamptz IS NULL OR (COALESCE(created_at, updated_at, timestamptz 'epoch'), id) > ($1::timestamptz, $2::uuid))
              AND ($3::uuid[] IS NULL OR workspace_id = ANY($3::uuid[]))
            ORDER BY at, id
            LIMIT $4
            """, [after?.0, after?.1, workspaceFilter, limit])
        var rows: [LegacyRecord] = []
        rows.reserveCapacity(result.count)
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
        return rows
    }

    private func keyValues(after: (Timestamp, String)?, limit: Int) async throws -> [LegacyRecord] {
        let version = schema.hasKeyValueVersion ? "version" : "1::bigint"
        let result = try await pool.query("""
            SELECT id::text, workspace_id::text, key, value::text, \(version), expires_at,
                   expires_at IS NOT NULL AND expires_at <= now(), updated_at
            FROM public.workspace_memory
            WHERE ($1::timestamptz IS NULL OR (updated_at, id) > ($1::timestamptz, $2::uuid))
              AND ($3::uuid[] IS NULL OR workspace_id = ANY($3::uuid[]))
            ORDER BY updated_at, id
            LIMIT $4
            """, [after?.0, after?.1, workspaceFilter, limit])
        var rows: [LegacyRecord] = []
        rows.reserveCapacity(result.count)
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
        return rows
    }
}
