import MemoryContract
import Postgres

extension MemoryStore {
    /// Reciprocal rank fusion's damping constant (the usual 60): a hit's fused score is the
    /// sum over rankings of 1 / (60 + rank).
    static let fusionConstant = 60

    /// Search with deterministic, pin-aware ordering in every mode: pinned first, then
    /// score, then newest, then id.
    /// - embedding: cosine similarity through the HNSW index (score = 1 - distance);
    ///   with a query of 2+ characters as well, the full-text and vector rankings are
    ///   fused (reciprocal rank fusion).
    /// - query of 2+ characters: full-text (`websearch_to_tsquery`, english), ranked by
    ///   `ts_rank` among each namespace's newest matches (`textCandidateCount`), so a
    ///   common word in a namespace of 100k memories costs the same as in one of 100.
    /// - one character: substring (wildcards escaped), newest first.
    /// - otherwise: listing, newest first.
    /// K/V entries only when asked for by kind, so v1 clients never see them in recall.
    public func search(_ request: SearchRequest) async throws(ContractError) -> [Memory] {
        let kinds = (request.kinds?.isEmpty == false ? request.kinds! : [.fact, .summary, .checkpoint]).map(\.rawValue)
        let query = String((request.query ?? "").drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
        let namespaces = Array(Set(request.namespaces)).sorted()
        let limit = request.effectiveLimit
        let candidates = Self.candidateCount(limit: limit)
        let textCandidates = Self.textCandidateCount(limit: limit)
        let (sql, parameters): (String, [any PostgresEncodable])
        // Listing and substring plans do not depend on the values (the listing index serves
        // both), so they are prepared once per connection. Ranked modes stay planned per
        // call: whether the GIN index or the listing index is cheaper depends on the words.
        var prepared = false
        if let embedding = request.embedding, embeddingDimensions != nil {
            let vector = PostgresVector(embedding)
            if query.count >= 2 {
                (sql, parameters) = (Self.fusedSQL, [namespaces, kinds, query, limit, textCandidates, vector, candidates])
            } else {
                (sql, parameters) = (Self.vectorSQL, [namespaces, kinds, limit, candidates, vector])
            }
        } else if query.count >= 2 {
            (sql, parameters) = (Self.fullTextSQL, [namespaces, kinds, query, limit, textCandidates])
        } else if query.count == 1 {
            (sql, parameters) = (Self.substringSQL, [namespaces, kinds, Self.escapeLike(query), limit])
            prepared = true
        } else {
            (sql, parameters) = (Self.listingSQL, [namespaces, kinds, limit])
            prepared = true
        }
        let usePrepared = prepared
        return try await mapped {
            try await pool.withConnection { session in
                try await (usePrepared ? session.query(prepared: sql, parameters) : session.query(sql, parameters)).rows.map(Self.memory)
            }
        }
    }

    /// How many candidates a ranked mode considers per namespace: enough that the best
    /// `limit` are among them in practice, few enough that ranking stays cheap.
    static func candidateCount(limit: Int) -> Int { max(100, limit * 5) }

    /// Full-text candidates per namespace: the newest matches, found by walking the
    /// listing index and testing each row, so their number sets the cost when a query's
    /// words are neither rare (the GIN index serves those) nor very common. Twice the
    /// limit halved the search's database time against five times (with 100,000 rows and
    /// a query matching 1.4% of them, ~2,700 rows tested instead of ~5,400).
    static func textCandidateCount(limit: Int) -> Int { max(40, limit * 2) }

    static let searchable = "r.kind = ANY($2::text[]) AND \(liveMemory) AND \(liveNamespace)"

    /// Per namespace, the listing index yields rows already in order, so each side reads
    /// at most `limit` rows however large the namespace grows. $1 namespaces, $2 kinds, $3 limit.
    static let listingSQL = """
        SELECT * FROM unnest($1::text[]) AS ns(name) CROSS JOIN LATERAL (
            SELECT \(memoryColumns), NULL::float8 AS score
            FROM memory_plugin.memory_records r
            WHERE r.namespace = ns.name AND \(searchable)
            ORDER BY pin DESC, created_at DESC, id DESC
            LIMIT $3
        ) r
        ORDER BY pin DESC, created_at DESC, id DESC
        LIMIT $3
        """

    /// $1 namespaces, $2 kinds, $3 escaped pattern, $4 limit.
    static let substringSQL = """
        SELECT * FROM unnest($1::text[]) AS ns(name) CROSS JOIN LATERAL (
            SELECT \(memoryColumns), NULL::float8 AS score
            FROM memory_plugin.memory_records r
            WHERE r.namespace = ns.name AND \(searchable) AND r.content ILIKE '%' || $3 || '%' ESCAPE '\\'
            ORDER BY pin DESC, created_at DESC, id DESC
            LIMIT $4
        ) r
        ORDER BY pin DESC, created_at DESC, id DESC
        LIMIT $4
        """

    /// Each namespace's newest `$5` matches (pinned first), read in index order; only
    /// those are ranked. The planner picks the GIN index instead when the words are rare.
    /// $1 namespaces, $2 kinds, $3 query, $4 limit, $5 candidates.
    static let fullTextCandidates = """
        SELECT c.*, ts_rank(c.content_tsv, q.q)::float8 AS score
        FROM websearch_to_tsquery('english', $3) AS q(q), unnest($1::text[]) AS ns(name) CROSS JOIN LATERAL (
            SELECT \(memoryColumns), r.content_tsv
            FROM memory_plugin.memory_records r
            WHERE r.namespace = ns.name AND \(searchable) AND r.content_tsv @@ q.q
            ORDER BY pin DESC, created_at DESC, id DESC
            LIMIT $5
        ) c
        """

    static let fullTextSQL = """
        SELECT \(memoryColumns), score FROM (\(fullTextCandidates)) r
        ORDER BY pin DESC, score DESC, created_at DESC, id DESC
        LIMIT $4
        """

    /// The nearest `$4` by cosine distance (the HNSW index serves the ORDER BY), plus the
    /// nearest pinned ones, so pinned memories still come first. $1 namespaces, $2 kinds,
    /// $3 limit, $4 candidates, $5 vector.
    static let vectorSQL = """
        SELECT \(memoryColumns), (1 - (r.embedding <=> $5::vector))::float8 AS score
        FROM memory_plugin.memory_records r
        WHERE r.id IN (
            (SELECT r.id FROM memory_plugin.memory_records r
             WHERE r.namespace = ANY($1::text[]) AND \(searchable) AND r.embedding IS NOT NULL
             ORDER BY r.embedding <=> $5::vector LIMIT $4)
            UNION ALL
            (SELECT r.id FROM memory_plugin.memory_records r
             WHERE r.namespace = ANY($1::text[]) AND \(searchable) AND r.embedding IS NOT NULL AND r.pin
             ORDER BY r.embedding <=> $5::vector LIMIT $3))
        ORDER BY pin DESC, score DESC, created_at DESC, id DESC
        LIMIT $3
        """

    /// Full-text and vector rankings fused by reciprocal rank. $1 namespaces, $2 kinds,
    /// $3 query, $4 limit, $5 full-text candidates, $6 vector, $7 vector candidates.
    static let fusedSQL = """
        WITH text_hits AS (
            SELECT id, row_number() OVER (ORDER BY score DESC, created_at DESC, id DESC) AS rank
            FROM (\(fullTextCandidates)) t
        ), vector_hits AS (
            SELECT id, row_number() OVER (ORDER BY distance, id) AS rank FROM (
                SELECT r.id, r.embedding <=> $6::vector AS distance
                FROM memory_plugin.memory_records r
                WHERE r.namespace = ANY($1::text[]) AND \(searchable) AND r.embedding IS NOT NULL
                ORDER BY r.embedding <=> $6::vector LIMIT $7
            ) v
        ), fused AS (
            SELECT id, sum(1.0 / (\(fusionConstant) + rank))::float8 AS score
            FROM (SELECT id, rank FROM text_hits UNION ALL SELECT id, rank FROM vector_hits) hits
            GROUP BY id
        )
        SELECT \(memoryColumns.split(separator: ", ").map { "r.\($0)" }.joined(separator: ", ")), f.score
        FROM fused f JOIN memory_plugin.memory_records r ON r.id = f.id
        ORDER BY pin DESC, score DESC, created_at DESC, id DESC
        LIMIT $4
        """
}
