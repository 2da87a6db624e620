import Postgres

/// What the legacy database holds: the reference grew its tables over several
/// migrations, and a tenant may stop at any of them.
public struct LegacySchema: Sendable, Equatable {
    public var hasMemories: Bool
    public var hasKeyValues: Bool
    /// `agent_memories.namespace` (migration 017).
    public var hasNamespaceTag: Bool
    /// `workspace_memory.version` (migration 023); without it every entry is version 1.
    public var hasKeyValueVersion: Bool
    /// `agent_memories.embedding` is a pgvector column (migration 031, only where the
    /// extension was installed).
    public var hasEmbedding: Bool
    /// Its declared dimensions; nil for a `vector` without a length.
    public var embeddingDimensions: Int?

    public static func detect(_ pool: PostgresPool) async throws -> LegacySchema {
        let result = try await pool.query("""
            SELECT to_regclass('public.agent_memories') IS NOT NULL,
                   to_regclass('public.workspace_memory') IS NOT NULL,
                   EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('public.agent_memories')
                           AND attname = 'namespace' AND NOT attisdropped),
                   EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('public.workspace_memory')
                           AND attname = 'version' AND NOT attisdropped),
                   (SELECT a.atttypmod FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                    WHERE a.attrelid = to_regclass('public.agent_memories') AND a.attname = 'embedding'
                      AND NOT a.attisdropped AND t.typname = 'vector')
            """)
        let row = result[0]
        let typmod = try row.decode(Int?.self, at: 4)
        return LegacySchema(
            hasMemories: try row.decode(Bool.self, at: 0),
            hasKeyValues: try row.decode(Bool.self, at: 1),
            hasNamespaceTag: try row.decode(Bool.self, at: 2),
            hasKeyValueVersion: try row.decode(Bool.self, at: 3),
            hasEmbedding: typmod != nil,
            embeddingDimensions: typmod.flatMap { $0 > 0 ? $0 : nil }
        )
    }
}
