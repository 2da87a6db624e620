import FoundationEssentials
import MemoryContract
import Postgres

/// How concurrent single commits reach PostgreSQL once the coalescer has put them in one
/// batch. New facts into namespaces the plugin has seen (the common commit) become one
/// multi-row INSERT: one plan, one executor start and one transaction for the whole
/// batch instead of one each. Everything else in the batch rides the same libpq pipeline
/// as its own statement and transaction.
struct CommitBatches: Sendable {
    let pool: PostgresPool
    /// With the embedding column (pgvector present); the multi-row insert never names it.
    let embedding: Bool
    let freshFactSQL: String

    init(pool: PostgresPool, embedding: Bool) {
        self.pool = pool
        self.embedding = embedding
        self.freshFactSQL = Self.freshFactSQL(embedding: embedding)
    }

    /// A commit waiting in the coalescer.
    enum CommitJob: Sendable {
        /// Any statement, run as its own transaction.
        case statement(PostgresConnection.Statement)
        /// A new fact (id chosen here, or supplied and not yet seen) for a namespace known to exist.
        case fresh(FreshFact)
    }

    /// What the database said about one job.
    enum CommitOutcome: Sendable {
        case rows(PostgresResult)
        /// For a fresh fact: false when its namespace had expired (nothing was written).
        case inserted(Bool)
    }

    typealias CommitResult = Result<CommitOutcome, PostgresError>

    /// A new fact's columns, as parameters. The id is the writer's, or made here rather
    /// than by `gen_random_uuid()` so that a multi-row insert can tell whose row came back.
    /// A supplied id that already exists fails the insert with a unique violation, and
    /// the commit then takes the full statement (update, unchanged or conflict).
    struct FreshFact: Sendable {
        var id: String
        var namespace: String
        var content: String
        var kind: String
        var source: String
        var expiresAt: Timestamp?
        var propagation: String?
        var pin: Bool
        var createdAt: Timestamp?
        var embedding: PostgresVector?

        init(_ namespace: String, _ write: MemoryWrite) {
            id = write.id?.lowercased() ?? RandomUUID.next()
            self.namespace = namespace
            content = write.content
            kind = write.kind.rawValue
            source = write.source.rawValue
            expiresAt = write.expiresAt
            propagation = JSONWriter.text(write.propagation)
            pin = write.pin ?? false
            createdAt = write.createdAt
            embedding = write.embedding.map(PostgresVector.init)
        }
    }

    /// One fresh fact: a plain insert (no namespace upsert, no ON CONFLICT arbitration:
    /// a new random id cannot collide, and a supplied one that does is retried in full)
    /// that still refuses an expired namespace.
    /// Measured with pgbench at concurrency 8, it costs PostgreSQL about four fifths of the
    /// full statement.
    static func freshFactSQL(embedding: Bool) -> String {
        """
        INSERT INTO memory_plugin.memory_records
            (id, namespace, content, kind, source, expires_at, propagation, pin, created_at\(embedding ? ", embedding" : ""))
        SELECT $1::uuid, $2, $3, $4, $5, $6::timestamptz, $7::jsonb, $8, coalesce($9::timestamptz, now())\(embedding ? ", $10::vector" : "")
        WHERE NOT EXISTS (SELECT 1 FROM memory_plugin.memory_namespaces WHERE name = $2 AND expires_at <= now())
        RETURNING id
        """
    }

    func freshFactStatement(_ fact: FreshFact) -> PostgresConnection.Statement {
        var parameters: [any PostgresEncodable] = [
            fact.id, fact.namespace, fact.content, fact.kind, fact.source, fact.expiresAt, fact.propagation, fact.pin, fact.createdAt,
        ]
        if embedding { parameters.append(fact.embedding) }
        return .init(freshFactSQL, parameters, prepared: true)
    }

    /// Many fresh facts without embeddings in one statement. `clock_timestamp()` gives each
    /// row its own creation time, in the order the commits arrived, as separate
    /// transactions would have.
    static let freshFactsSQL = """
        INSERT INTO memory_plugin.memory_records (id, namespace, content, kind, source, expires_at, propagation, pin, created_at)
        SELECT i.id, i.namespace, i.content, i.kind, i.source, i.expires_at, i.propagation::jsonb, i.pin,
               coalesce(i.created_at, clock_timestamp())
        FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::bool[], $9::timestamptz[])
            AS i(id, namespace, content, kind, source, expires_at, propagation, pin, created_at)
        WHERE NOT EXISTS (SELECT 1 FROM memory_plugin.memory_namespaces n WHERE n.name = i.namespace AND n.expires_at <= now())
        RETURNING id::text
        """

    static func freshFactsStatement(_ facts: [FreshFact]) -> PostgresConnection.Statement {
        .init(freshFactsSQL, [
            facts.map(\.id), facts.map(\.namespace), facts.map(\.content), facts.map(\.kind), facts.map(\.source),
            facts.map(\.expiresAt), facts.map(\.propagation), facts.map(\.pin), facts.map(\.createdAt),
        ], prepared: true)
    }

    /// Runs a coalesced batch: one outcome per job, in order. A multi-row insert that
    /// fails on something one row can cause (a namespace deleted meanwhile: foreign key;
    /// a value PostgreSQL refuses) is run again row by row, so only that row fails.
    func execute(_ jobs: [CommitJob]) async -> [CommitResult] {
        if jobs.count == 1 { return [await single(jobs[0])] }
        var grouped: [Int] = []
        var alone: [Int] = []
        for (index, job) in jobs.enumerated() {
            if case .fresh(let fact) = job, fact.embedding == nil { grouped.append(index) } else { alone.append(index) }
        }
        if grouped.count < 2 {
            alone = Array(jobs.indices)
            grouped = []
        }
        let facts = grouped.map { index -> FreshFact in
            guard case .fresh(let fact) = jobs[index] else { preconditionFailure("only fresh facts are grouped") }
            return fact
        }
        var statements = alone.map { statement(for: jobs[$0]) }
        if !facts.isEmpty { statements.append(Self.freshFactsStatement(facts)) }

        var outcomes = [CommitResult?](repeating: nil, count: jobs.count)
        let results: [Result<PostgresResult, PostgresError>]
        do {
            results = try await pool.pipeline(statements)
        } catch {
            return Array(repeating: .failure(Self.postgresError(error)), count: jobs.count)
        }
        for (position, index) in alone.enumerated() { outcomes[index] = Self.outcome(of: jobs[index], results[position]) }
        if !facts.isEmpty {
            switch results[alone.count] {
            case .success(let result):
                var written = Set<String>()
                for row in result.rows { if let id = try? row.decode(String.self, at: 0) { written.insert(id) } }
                for (position, index) in grouped.enumerated() { outcomes[index] = .success(.inserted(written.contains(facts[position].id))) }
            case .failure(let error) where Self.isAboutOneRow(error):
                let retried: [Result<PostgresResult, PostgresError>]
                do {
                    retried = try await pool.pipeline(facts.map(freshFactStatement))
                } catch {
                    retried = Array(repeating: .failure(Self.postgresError(error)), count: facts.count)
                }
                for (position, index) in grouped.enumerated() { outcomes[index] = Self.outcome(of: jobs[index], retried[position]) }
            case .failure(let error):
                for index in grouped { outcomes[index] = .failure(error) }
            }
        }
        return outcomes.map { $0! }
    }

    private func single(_ job: CommitJob) async -> CommitResult {
        let statement = statement(for: job)
        do {
            let result = try await pool.withConnection { try await $0.query(prepared: statement.sql, statement.parameters) }
            return Self.outcome(of: job, .success(result))
        } catch {
            return .failure(Self.postgresError(error))
        }
    }

    func statement(for job: CommitJob) -> PostgresConnection.Statement {
        switch job {
        case .statement(let statement): statement
        case .fresh(let fact): freshFactStatement(fact)
        }
    }

    /// A fresh fact's outcome is whether its row was written; any other job's, its rows.
    static func outcome(of job: CommitJob, _ result: Result<PostgresResult, PostgresError>) -> CommitResult {
        result.map { result in
            if case .fresh = job { return .inserted(!result.isEmpty) }
            return .rows(result)
        }
    }

    /// Integrity (23) and data (22) errors come from a row's values; anything else (the
    /// connection, a timeout) would fail the rows one by one just the same.
    private static func isAboutOneRow(_ error: PostgresError) -> Bool {
        guard let state = error.sqlState else { return false }
        return state.errorClass == "23" || state.errorClass == "22"
    }

    private static func postgresError(_ error: any Error) -> PostgresError {
        error as? PostgresError ?? PostgresError(kind: .cancelled, message: "the commit was cancelled")
    }
}
