import Logging
import Postgres

/// Whether this database can store embeddings, decided once at boot. pgvector is
/// optional (DESIGN section 4): with it, memory_records gets an `embedding vector(N)`
/// column and an HNSW cosine index; without it the plugin runs with semantic search off
/// and says why, instead of failing or pretending.
public enum EmbeddingSupport: Sendable, Equatable {
    case available(dimensions: Int)
    case unavailable(reason: String)

    public var dimensions: Int? {
        if case .available(let dimensions) = self { return dimensions }
        return nil
    }
}

/// The `embedding vector(N)` column of memory_records and its HNSW cosine index.
public enum EmbeddingColumn {
    static let indexName = "memory_records_embedding_hnsw"
    /// pgvector's HNSW index takes vectors of at most 2,000 dimensions; above that the
    /// column still works, searched exactly.
    static let maxIndexedDimensions = 2000

    /// Creates the extension when the role may, then the column and its index, under a
    /// transaction-scoped advisory lock so concurrent boots do not race on the DDL. Never
    /// alters an existing column of other dimensions: stored embeddings are kept, and
    /// semantic search is reported off with the mismatch named.
    public static func prepare(_ pool: PostgresPool, dimensions: Int, logger: Logger = Logger(label: "memory-plugin")) async throws -> EmbeddingSupport {
        guard (1...16000).contains(dimensions) else {
            return .unavailable(reason: "MEMORY_PLUGIN_EMBEDDING_DIMS=\(dimensions) is outside 1...16000")
        }
        if try await pool.query("SELECT 1 FROM pg_extension WHERE extname = 'vector'").isEmpty {
            guard try await !pool.query("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'").isEmpty else {
                return .unavailable(reason: "pgvector is not installed on this PostgreSQL server (e.g. apt-get install postgresql-17-pgvector)")
            }
            do {
                try await pool.query("CREATE EXTENSION IF NOT EXISTS vector")
            } catch let error as PostgresError where !error.isConnectionProblem {
                return .unavailable(reason: "pgvector is installed but not enabled in this database, and this role may not enable it: run CREATE EXTENSION vector as a superuser")
            }
        }
        return try await pool.transaction { session in
            // The same key space as the migration lock would serialise with migrations; a
            // distinct key keeps this DDL independent of them.
            try await session.query("SELECT pg_advisory_xact_lock(hashtext('molecule-tenant:memory-plugin:embedding'))")
            let existing = try await session.query("""
                SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute
                WHERE attrelid = 'memory_plugin.memory_records'::regclass AND attname = 'embedding' AND NOT attisdropped
                """)
            if let type = try existing.first?.decode(String.self, "type") {
                guard type == "vector(\(dimensions))" else {
                    return .unavailable(reason: "memory_records.embedding is \(type) but MEMORY_PLUGIN_EMBEDDING_DIMS=\(dimensions); set it to match the stored embeddings")
                }
            } else {
                try await session.query("ALTER TABLE memory_plugin.memory_records ADD COLUMN embedding vector(\(dimensions))")
            }
            if dimensions <= maxIndexedDimensions {
                try await session.query("""
                    CREATE INDEX IF NOT EXISTS \(indexName) ON memory_plugin.memory_records
                    USING hnsw (embedding vector_cosine_ops)
                    """)
            } else {
                logger.warning("embeddings above \(maxIndexedDimensions) dimensions have no HNSW index; semantic search scans exactly")
            }
            return .available(dimensions: dimensions)
        }
    }
}
