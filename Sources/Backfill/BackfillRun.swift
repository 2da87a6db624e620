import MemoryContract
import MemoryPluginClient
import Postgres

/// One `backfill` run: reads the legacy tables in batches ordered by (time, id), maps each
/// row, and then copies (apply) or compares (dry-run, verify) through the plugin. While
/// batches are written the next is read, with `concurrency` plugin batches in flight at most.
public struct BackfillRun {
    public let options: BackfillOptions
    public let pool: PostgresPool
    public let client: MemoryPluginClient
    public let reporter: ProgressReporter

    public init(options: BackfillOptions, pool: PostgresPool, client: MemoryPluginClient, reporter: ProgressReporter) {
        self.options = options
        self.pool = pool
        self.client = client
        self.reporter = reporter
    }

    /// Runs to the end and returns the counts. Throws only when the run cannot go on
    /// (plugin or database down); row problems are in the summary.
    public func run() async throws(BackfillError) -> BackfillSummary {
        var summary = BackfillSummary(mode: options.mode)
        do {
            return try await work(&summary)
        } catch {
            reporter.finish(summary)
            throw error
        }
    }

    private func work(_ summary: inout BackfillSummary) async throws(BackfillError) -> BackfillSummary {
        let schema = try await database { try await LegacySchema.detect(pool) }
        guard schema.hasMemories || schema.hasKeyValues else { throw .noLegacyTables }
        let health: HealthResponse
        do {
            health = try await client.health()
        } catch {
            throw .plugin(error)
        }
        let (copyEmbeddings, embeddingNote) = Self.embeddingPlan(schema, health)
        let tree = try await database { try await WorkspaceTree.load(pool) }
        let workspaces = try await chooseWorkspaces(schema)
        let reader = LegacyReader(pool: pool, schema: schema, workspaces: workspaces, readEmbeddings: copyEmbeddings != nil)
        let mapper = LegacyMapper(tree: tree, embeddingDimensions: copyEmbeddings)
        var total = try await database { try await reader.count() }
        if let limit = options.limit { total = min(total, limit) }
        reporter.start(mode: options.mode, total: total, tables: reader.tables, batchSize: options.batchSize, embeddings: embeddingNote)

        let writer = BatchWriter(client: client)
        var expected: [String: [String: Expectation]] = [:]
        try await database {
            try await reader.withBatches(batchSize: options.batchSize, limit: options.limit) { batches in
                try await copy(batches, mapper, writer, &summary, &expected)
            }
        }
        if options.mode != .apply {
            try await compare(expected, &summary)
        }
        reporter.progress(summary, force: true)
        reporter.finish(summary)
        return summary
    }

    /// Maps each batch and writes it (apply) or notes what the plugin should hold (dry-run,
    /// verify). Up to `concurrency` batches are in the plugin at once: while they are
    /// written, the next batch is read and mapped.
    private func copy(
        _ batches: LegacyBatches, _ mapper: LegacyMapper, _ writer: BatchWriter,
        _ summary: inout BackfillSummary, _ expected: inout [String: [String: Expectation]]
    ) async throws {
        var inFlight: [(rows: [MappedRow], task: Task<[WriteOutcome], any Error>)] = []
        do {
            while let rows = try await batches.next() {
                summary.scanned += rows.count
                var mapped: [MappedRow] = []
                mapped.reserveCapacity(rows.count)
                for row in rows {
                    switch mapper.map(row) {
                    case .write(let target): mapped.append(target)
                    case .skip(let record, let reason):
                        summary.skippedByReason[reason, default: 0] += 1
                        reporter.skipped(record, reason)
                    }
                }
                switch options.mode {
                case .apply:
                    guard !mapped.isEmpty else { break }
                    let batch = mapped
                    inFlight.append((batch, Task { try await writer.write(batch) }))
                    if inFlight.count >= max(1, options.concurrency) {
                        let oldest = inFlight.removeFirst()
                        try await tally(oldest.rows, oldest.task, &summary)
                    }
                case .dryRun, .verify:
                    for row in mapped {
                        let expectation = Expectation(row)
                        expected[row.namespace, default: [:]][expectation.matchKey] = expectation
                    }
                }
                reporter.progress(summary)
            }
            for entry in inFlight {
                try await tally(entry.rows, entry.task, &summary)
            }
        } catch {
            for entry in inFlight { entry.task.cancel() }
            throw error
        }
    }

    private func tally(_ rows: [MappedRow], _ task: Task<[WriteOutcome], any Error>, _ summary: inout BackfillSummary) async throws(BackfillError) {
        let outcomes: [WriteOutcome]
        do {
            outcomes = try await task.value
        } catch let error as BackfillError {
            throw error
        } catch {
            throw .plugin(.unavailable("\(error)"))
        }
        for (row, outcome) in zip(rows, outcomes) {
            switch outcome {
            case .created: summary.created += 1
            case .updated: summary.updated += 1
            case .unchanged: summary.unchanged += 1
            case .failed(let error):
                summary.errors += 1
                reporter.failed(row, error)
            }
        }
    }

    private func compare(_ expected: [String: [String: Expectation]], _ summary: inout BackfillSummary) async throws(BackfillError) {
        let comparator = PluginComparator(client: client)
        let verifying = options.mode == .verify
        var result = summary
        try await comparator.compare(expected) { expectation, comparison in
            switch comparison {
            case .matches:
                result.unchanged += 1
            case .missing:
                if verifying { record(expectation, "missing from the plugin", &result) } else { result.created += 1 }
            case .differs(let fields):
                if verifying { record(expectation, "differs: " + fields.joined(separator: ", "), &result) } else { result.updated += 1 }
            }
            reporter.progress(result)
        }
        summary = result
    }

    private func record(_ expectation: Expectation, _ problem: String, _ summary: inout BackfillSummary) {
        summary.mismatched += 1
        if summary.firstMismatches.count < 10 { summary.firstMismatches.append(expectation.record.id) }
        reporter.mismatched(expectation, problem)
    }

    /// `--workspace`, or `--verify-sample N` workspaces at random among those with rows.
    private func chooseWorkspaces(_ schema: LegacySchema) async throws(BackfillError) -> [String]? {
        if let workspace = options.workspaceID { return [workspace] }
        guard options.mode == .verify, let sample = options.verifySample else { return nil }
        var sources: [String] = []
        if schema.hasMemories { sources.append("SELECT workspace_id FROM public.agent_memories WHERE workspace_id IS NOT NULL") }
        if schema.hasKeyValues { sources.append("SELECT workspace_id FROM public.workspace_memory") }
        let sql = "SELECT workspace_id::text FROM (\(sources.joined(separator: " UNION "))) w ORDER BY random() LIMIT $1"
        return try await database {
            try await pool.query(sql, [sample]).rows.map { try $0.decode(String.self, at: 0) }
        }
    }

    /// Embeddings are copied when both sides have pgvector with the same dimensions.
    static func embeddingPlan(_ schema: LegacySchema, _ health: HealthResponse) -> (Int?, String) {
        guard schema.hasEmbedding else { return (nil, "none in the legacy table") }
        guard health.capabilities.contains(Contract.Capability.embedding), let pluginDimensions = health.embeddingDimensions else {
            return (nil, "not copied: the plugin runs without pgvector")
        }
        if let legacy = schema.embeddingDimensions, legacy != pluginDimensions {
            return (nil, "not copied: legacy vector(\(legacy)), plugin vector(\(pluginDimensions))")
        }
        return (pluginDimensions, "copied (vector(\(pluginDimensions)))")
    }

    private func database<T>(_ body: () async throws -> T) async throws(BackfillError) -> T {
        do {
            return try await body()
        } catch let error as BackfillError {
            throw error
        } catch {
            throw .database("\(error)")
        }
    }
}
