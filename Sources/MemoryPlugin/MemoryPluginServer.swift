import Hummingbird
import HummingbirdCore
import Logging
import MemoryContract
import Migrations
import Postgres
import ServiceLifecycle
import SocketHandover
import UnixSignals

/// Everything `molecule-tenant memory-plugin` needs, resolved from configuration.
public struct PluginConfiguration: Sendable {
    public var databaseURL: String
    public var host: String
    public var port: Int
    public var skipMigrate: Bool
    public var poolSize: Int
    public var janitorInterval: Duration
    /// MEMORY_PLUGIN_EMBEDDING_DIMS: the embedding column's dimensions when pgvector is there.
    public var embeddingDimensions: Int
    /// MEMORY_PLUGIN_STATEMENT_TIMEOUT: the longest one SQL statement may run before the
    /// request gets 503 `unavailable`; bounds what a stuck lock or a runaway search can hold.
    public var statementTimeout: Duration

    public init(
        databaseURL: String, host: String, port: Int, skipMigrate: Bool, poolSize: Int, janitorInterval: Duration,
        embeddingDimensions: Int = 1536, statementTimeout: Duration = .seconds(5)
    ) {
        self.databaseURL = databaseURL
        self.host = host
        self.port = port
        self.skipMigrate = skipMigrate
        self.poolSize = poolSize
        self.janitorInterval = janitorInterval
        self.embeddingDimensions = embeddingDimensions
        self.statementTimeout = statementTimeout
    }
}

/// Boots and runs the memory plugin: waits for the database with backoff, applies its
/// migrations (under the shared advisory lock), serves HTTP and runs the TTL janitor
/// until SIGTERM or SIGINT, then drains.
public enum MemoryPluginServer {
    /// Runs the plugin alone, with its own signal handling (the `memory-plugin` command).
    public static func run(_ configuration: PluginConfiguration, logger: Logger) async throws {
        let service = try await makeService(configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
    }

    /// Prepares the database and returns the plugin as a `Service`, so `run` can group it
    /// with the server under one ServiceGroup. Throws only for errors a retry cannot fix.
    public static func makeService(_ configuration: PluginConfiguration, logger: Logger) async throws -> any Service {
        let pool = PostgresPool(.init(conninfo: configuration.databaseURL, maxConnections: configuration.poolSize,
                                      acquireTimeout: .seconds(2), statementTimeout: configuration.statementTimeout,
                                      // pgvector 0.8: keep scanning the HNSW index until enough rows pass
                                      // the namespace filter, in exact distance order.
                                      sessionSettings: ["hnsw.iterative_scan": "strict_order"]), logger: logger)
        do {
            try await prepareDatabase(pool, configuration, logger)
        } catch {
            await pool.shutdown()
            throw error
        }
        let embeddings: EmbeddingSupport
        do {
            embeddings = try await EmbeddingColumn.prepare(pool, dimensions: configuration.embeddingDimensions, logger: logger)
        } catch {
            await pool.shutdown()
            throw error
        }
        switch embeddings {
        case .available(let dimensions):
            logger.notice("memory plugin: semantic search on (pgvector, \(dimensions) dimensions, HNSW cosine index)")
        case .unavailable(let reason):
            // Without pgvector the plugin still serves everything else; embeddings are
            // refused with a clear 400 and the capability is not advertised.
            logger.warning("memory plugin: semantic search is off: \(reason)")
        }
        let store = MemoryStore(pool: pool, embeddingDimensions: embeddings.dimensions)
        let metrics = PluginMetrics()
        let routes = PluginRoutes(store: store, limits: ContractLimits(embeddingDimensions: embeddings.dimensions), metrics: metrics)
        // Serves on a socket it can hand to the next release (docs/upgrading.md).
        let app = HandoverHTTPServer(responder: routes.router().buildResponder(), host: configuration.host, port: configuration.port,
                                     name: "memory plugin", logger: logger)
        return PluginService(app: app, store: store, metrics: metrics, janitorInterval: configuration.janitorInterval, logger: logger)
    }

    /// Retries with backoff (0.25 s doubling to 5 s) instead of dying while PostgreSQL
    /// is still starting; only a migration error that is not a connection problem stops boot.
    static func prepareDatabase(_ pool: PostgresPool, _ configuration: PluginConfiguration, _ logger: Logger) async throws {
        var delay = Duration.milliseconds(250)
        while true {
            do {
                if configuration.skipMigrate {
                    try await pool.query("SELECT 1")
                } else {
                    try await MigrationRunner(pool: pool, logger: logger).up(.memoryPlugin)
                }
                return
            } catch let error as PostgresError where error.isConnectionProblem {
                logger.warning("waiting for the database", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}

/// The HTTP server and the TTL janitor as one service; the pool closes once both stop.
struct PluginService: Service {
    let app: HandoverHTTPServer<RouterResponder<BasicRequestContext>, HTTP1Channel>
    let store: MemoryStore
    let metrics: PluginMetrics
    let janitorInterval: Duration
    let logger: Logger

    func run() async throws {
        let janitor = Task { await runJanitor() }
        defer { janitor.cancel() }
        do {
            try await app.run()
        } catch {
            janitor.cancel()
            await store.pool.shutdown()
            throw error
        }
        janitor.cancel()
        await store.pool.shutdown()
    }

    /// Deletes expired rows every interval; a failed pass is logged and retried next time.
    private func runJanitor() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: janitorInterval)
            if Task.isCancelled { break }
            do {
                let deleted = try await store.deleteExpired()
                metrics.recordJanitor(deleted: deleted)
                if deleted > 0 { logger.info("janitor deleted expired rows", metadata: ["rows": "\(deleted)"]) }
            } catch {
                logger.warning("janitor could not run", metadata: ["error": "\(error)"])
            }
        }
    }
}
