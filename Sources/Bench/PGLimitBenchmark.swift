import Migrations
import NIOPosix
import Postgres

/// `bench pg-limit`: the memory plugin's single-row commit INSERT, issued straight
/// through libpq on `concurrency` connections with one thread each. Nothing sits between
/// the client and PostgreSQL, so its rows/s is the ceiling the plugin is measured against.
public struct PGLimitBenchmark: Sendable {
    public struct Result: Sendable, Codable {
        public var bench = "pg-limit"
        public var concurrency: Int
        public var seconds: Double
        public var rows: Int
        public var errors: Int
        public var rowsPerSecond: Double
        public var latencyMs: LatencySummary

        enum CodingKeys: String, CodingKey {
            case bench, concurrency, seconds, rows, errors
            case rowsPerSecond = "rows_per_sec"
            case latencyMs = "latency_ms"
        }
    }

    /// The statement the plugin runs for a commit into an existing namespace.
    public static let insertSQL = """
        INSERT INTO memory_plugin.memory_records (namespace, content, kind, source, propagation, pin)
        VALUES ($1, $2, $3, $4, $5::jsonb, $6)
        RETURNING id, created_at
        """

    public static let namespace = "custom:bench-pg-limit"

    public let conninfo: String
    public let concurrency: Int
    public let duration: Duration

    public init(conninfo: String, concurrency: Int, duration: Duration) {
        self.conninfo = conninfo
        self.concurrency = concurrency
        self.duration = duration
    }

    public func run() async throws -> Result {
        // The plugin's schema must exist: apply its migrations (a no-op when current).
        let pool = PostgresPool(.init(conninfo: conninfo, maxConnections: 1))
        do {
            try await MigrationRunner(pool: pool).up(.memoryPlugin)
            try await pool.query(
                "INSERT INTO memory_plugin.memory_namespaces (name, kind) VALUES ($1, 'custom') ON CONFLICT (name) DO NOTHING",
                [Self.namespace]
            )
            await pool.shutdown()
        } catch {
            await pool.shutdown()
            throw error
        }

        let threads = NIOThreadPool(numberOfThreads: concurrency)
        threads.start()
        defer { threads.shutdownGracefully { _ in } }
        let connections = try await withThrowingTaskGroup(of: PostgresConnection.self) { group in
            for _ in 0..<concurrency {
                group.addTask { [conninfo] in
                    try await threads.runIfActive { try PostgresConnection.connect(conninfo, applicationName: "molecule-tenant-bench") }
                }
            }
            var opened: [PostgresConnection] = []
            for try await connection in group { opened.append(connection) }
            return opened
        }
        let clock = ContinuousClock()
        let started = clock.now
        let deadline = started.advanced(by: duration)
        let outcomes = try await withThrowingTaskGroup(of: (samples: [Double], errors: Int).self) { group in
            for (worker, connection) in connections.enumerated() {
                group.addTask {
                    try await threads.runIfActive {
                        var samples: [Double] = []
                        var errors = 0
                        var sequence = 0
                        while clock.now < deadline {
                            sequence += 1
                            let begin = clock.now
                            do {
                                try connection.query(Self.insertSQL, [
                                    Self.namespace, "bench row \(worker)-\(sequence): the quick brown fox jumps over the lazy dog",
                                    "fact", "agent", "{}", false,
                                ])
                                samples.append((clock.now - begin).milliseconds)
                            } catch {
                                errors += 1
                            }
                        }
                        return (samples, errors)
                    }
                }
            }
            var all: [(samples: [Double], errors: Int)] = []
            for try await outcome in group { all.append(outcome) }
            return all
        }
        let elapsed = (clock.now - started).milliseconds / 1000
        for connection in connections { connection.close() }
        let samples = outcomes.flatMap(\.samples)
        let summary = LatencySummary(samples: samples).rounded()
        return Result(
            concurrency: concurrency,
            seconds: rounded3(elapsed),
            rows: samples.count,
            errors: outcomes.reduce(0) { $0 + $1.errors },
            rowsPerSecond: (Double(samples.count) / elapsed).rounded(),
            latencyMs: summary
        )
    }

    /// Deletes the rows the benchmark wrote.
    public static func cleanUp(conninfo: String) async throws {
        let pool = PostgresPool(.init(conninfo: conninfo, maxConnections: 1))
        do {
            try await pool.query("DELETE FROM memory_plugin.memory_namespaces WHERE name = $1", [namespace])
            await pool.shutdown()
        } catch {
            await pool.shutdown()
            throw error
        }
    }
}
