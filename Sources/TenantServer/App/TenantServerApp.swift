import Hummingbird
import HummingbirdWebSocket
import Logging
import MemoryPluginClient
import Migrations
import Postgres
import RedisClient
import ServiceLifecycle
import SocketHandover
import TLSClient
import UnixSignals

/// Boots the tenant API: waits for the database with backoff, applies server
/// migrations under the advisory lock (unless `skipMigrate`), waits for the memory
/// plugin (or runs degraded), and returns the HTTP server plus the liveness watcher
/// as one `Service` that drains on graceful shutdown.
public enum TenantServerApp {
    /// Runs the server alone with its own signal handling (the `server` command).
    public static func run(_ configuration: TenantServerConfiguration, logger: Logger) async throws {
        let service = try await makeService(configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: service)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        ))
        try await group.run()
    }

    /// Prepares everything and returns the server as a `Service`, so `run` can group it
    /// with the memory plugin. Throws `TenantServerBootError` for problems the operator
    /// must fix; database connection problems are retried, not thrown.
    public static func makeService(_ configuration: TenantServerConfiguration, logger: Logger) async throws -> any Service {
        let redisConfiguration: RedisConfiguration
        do {
            redisConfiguration = try RedisConfiguration(url: configuration.redisURL, password: configuration.redisPassword)
        } catch {
            throw TenantServerBootError.invalidRedisURL("\(error)")
        }
        let agentTLS: TLSClientContext
        do {
            agentTLS = try TLSClientContext(extraCAFile: configuration.a2a.caFile)
        } catch {
            throw TenantServerBootError.agentTLSUnavailable(error.message)
        }
        let pool = PostgresPool(.init(conninfo: configuration.databaseURL, maxConnections: configuration.databasePoolSize,
                                      acquireTimeout: .seconds(2), statementTimeout: .seconds(10)), logger: logger)
        let redis: RedisClient
        let memoryPlugin: MemoryPluginClient
        do {
            memoryPlugin = try MemoryPluginLink.makeClient(configuration, logger: logger)
            redis = try RedisClient(configuration: redisConfiguration, logger: logger)
            try await prepareDatabase(pool, configuration, logger)
            _ = try await MemoryPluginLink.waitForPlugin(configuration, logger: logger)
        } catch {
            await pool.shutdown()
            throw error
        }
        do {
            _ = try await redis.ping()
        } catch {
            logger.warning("redis is not reachable yet; liveness and rate limits resume when it is", metadata: ["error": "\(error)"])
        }
        let tokens = WorkspaceTokenStore(pool: pool)
        let liveness = LivenessTracker(pool: pool, redis: redis, ttlSeconds: configuration.livenessTTLSeconds)
        let events = EventBus(pool: pool, redis: redis, subscriber: redis.makeSubscriber(), logger: logger,
                              channel: configuration.eventsChannel, keepAliveInterval: configuration.eventKeepAliveInterval)
        let tokenCache = VerifiedTokenCache(ttl: configuration.authCacheTTL, staleAfter: TokenCacheInvalidation.staleAfter)
        // On the events' subscriber connection: one more stream, not one more connection.
        let tokenCacheInvalidation = TokenCacheInvalidation(
            cache: tokenCache, redis: redis, subscriber: events.subscriber, channel: TokenCacheInvalidation.defaultChannel,
            tickInterval: TokenCacheInvalidation.tickInterval, logger: logger)
        let dependencies = ServerDependencies(
            pool: pool, redis: redis,
            authenticator: Authenticator(pool: pool, adminToken: configuration.adminToken, tokens: tokens, cache: tokenCache),
            tokenCacheInvalidation: tokenCacheInvalidation,
            workspaces: WorkspaceStore(pool: pool), tokens: tokens, liveness: liveness, activity: ActivityStore(pool: pool),
            urlGuard: AgentURLGuard(allowedHosts: Set(configuration.trustedAgentHosts.map { $0.lowercased() })),
            publicURL: configuration.publicURL, memoryPlugin: memoryPlugin,
            events: events,
            a2a: configuration.a2a, agentTLS: agentTLS,
            inFlightDelegations: InFlightDelegations())
        if configuration.adminToken == nil {
            logger.notice("ADMIN_TOKEN is not set: admin routes accept only org tokens")
        }
        let metrics = ServerMetrics()
        let router = ServerRouter.make(dependencies, configuration: configuration, metrics: metrics)
        // Serves on a socket it can hand to the next release (docs/upgrading.md), with
        // WebSocket upgrades for GET /ws.
        let webSocketResponder = EventSocketRoutes(dependencies: dependencies).webSocketRouter().buildResponder()
        let app = HandoverHTTPServer(responder: router.buildResponder(), host: configuration.host, port: configuration.port,
                                     name: "tenant server", logger: logger) { respond in
            HTTP1WebSocketUpgradeChannel(responder: respond, webSocketResponder: webSocketResponder, configuration: .init())
        }
        let watcher = LivenessWatcher(
            tracker: liveness, subscriber: redis.makeSubscriber(), database: redisConfiguration.database,
            sweepInterval: configuration.livenessSweepInterval, logger: logger)
        return TenantServerService(app: app, watcher: watcher, messaging: MessagingBackground(dependencies, eventsRetention: configuration.eventsRetention, logger: logger),
                                   tokenCacheInvalidation: tokenCacheInvalidation, pool: pool, redis: redis, memoryPlugin: memoryPlugin)
    }

    /// Retries with backoff (0.25 s doubling to 5 s) while PostgreSQL is starting.
    static func prepareDatabase(_ pool: PostgresPool, _ configuration: TenantServerConfiguration, _ logger: Logger) async throws {
        var delay = Duration.milliseconds(250)
        while true {
            do {
                if configuration.skipMigrate {
                    try await pool.query("SELECT 1")
                } else {
                    try await MigrationRunner(pool: pool, logger: logger).up(.server)
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
