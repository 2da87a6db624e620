import ArgumentParser
import Postgres
import TenantConfig
import TenantCrypto
import TenantServer

struct ServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "server",
        abstract: "Run the tenant API that agent workspaces talk to (PORT, default 8080).",
        discussion: """
            Applies server migrations at boot (unless SERVER_SKIP_MIGRATE=1) and waits for the \
            database instead of dying. Waits up to MEMORY_PLUGIN_BOOT_WAIT (30s) for the memory \
            plugin's health (MEMORY_PLUGIN_URL; each plugin call is bounded by MEMORY_PLUGIN_TIMEOUT, \
            default 2s) and exits 1 if it never comes, unless \
            MEMORY_PLUGIN_REQUIRED=0, which runs degraded (visible in /health). Drains on SIGTERM.

            Other settings: BIND_ADDR, REDIS_URL, ADMIN_TOKEN (admin routes refuse everything \
            without it or an org token), RATE_LIMIT (per caller per minute), LIVENESS_TTL_SECONDS, \
            CORS_ORIGINS (comma-separated), TENANT_PUBLIC_URL (the URL agents use, when behind a proxy), \
            SERVER_DB_POOL, AUTH_CACHE_TTL (5s: how long a verified workspace token is reused \
            without a database read; revocations reach every replica through Redis at once, and \
            within this bound if Redis missed one; 0 turns the cache off). \
            Messaging: SECRETS_ENCRYPTION_KEY (secret routes), SSE_KEEPALIVE_SECONDS, \
            EVENTS_CHANNEL, EVENTS_RETENTION (stored events older than this are deleted hourly; \
            default 7d, 0 keeps them), A2A_TIMEOUT_SECONDS, A2A_IDLE_TIMEOUT_SECONDS, A2A_MAX_RESPONSE_BYTES, \
            A2A_QUEUE_DRAIN_INTERVAL_MS, A2A_CA_FILE (PEM CA certificates trusted for https agents \
            besides the system store), DELEGATION_LEASE_SECONDS (45: a delegation whose delivering \
            server went quiet this long is failed, or resumed if it was never sent) (see docs/messaging.md).

            Example:
              DATABASE_URL=postgres:///molecule REDIS_URL=redis://127.0.0.1:6379/0 molecule-tenant server
            """
    )
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let context = try CommandContext.prepare(global, label: "server")
        try StartRefusal.check(server: true)
        let configuration = try Self.configuration(from: context.environment)
        do {
            try await TenantServerApp.run(configuration, logger: context.logger)
        } catch let error as TenantServerBootError {
            throw CLIFailure(error.description)
        }
    }

    /// DESIGN section 3's variables, validated with messages that say what to fix.
    static func configuration(from environment: TenantEnvironment) throws -> TenantServerConfiguration {
        let port = try environment.int("PORT") ?? 8080
        guard (1...65535).contains(port) else { throw CLIFailure("PORT=\(port) is not valid: expected 1 to 65535") }
        let rateLimit = try environment.int("RATE_LIMIT") ?? 600
        guard rateLimit >= 0 else { throw CLIFailure("RATE_LIMIT must be 0 (off) or a positive number of requests per minute") }
        let ttl = try environment.int("LIVENESS_TTL_SECONDS") ?? 180
        guard ttl >= 1 else { throw CLIFailure("LIVENESS_TTL_SECONDS must be at least 1") }
        let poolSize = try environment.int("SERVER_DB_POOL") ?? (2 * System.coreCount + 2)
        guard (1...1000).contains(poolSize) else { throw CLIFailure("SERVER_DB_POOL must be between 1 and 1000") }
        let pluginURL = environment["MEMORY_PLUGIN_URL"] ?? "http://127.0.0.1:9100"
        let pluginTimeout = try environment.duration("MEMORY_PLUGIN_TIMEOUT") ?? .seconds(2)
        guard pluginTimeout > .zero else { throw CLIFailure("MEMORY_PLUGIN_TIMEOUT must be greater than zero, e.g. 2s") }
        let retention = try environment.duration("EVENTS_RETENTION") ?? .seconds(7 * 86400)
        guard retention == .zero || retention >= .seconds(60) else {
            throw CLIFailure("EVENTS_RETENTION must be 0 (keep events forever) or at least 1m, e.g. 7d")
        }
        let authCacheTTL = try environment.duration("AUTH_CACHE_TTL") ?? .seconds(5)
        guard authCacheTTL >= .zero, authCacheTTL <= .seconds(60) else {
            throw CLIFailure("AUTH_CACHE_TTL must be between 0 (off) and 60s, e.g. 5s: it bounds how long a revoked token may keep working")
        }
        let origins = (environment["CORS_ORIGINS"] ?? "").split(separator: ",")
            .map { $0.trimmed(of: " \t") }.filter { !$0.isEmpty }
        return TenantServerConfiguration(
            host: environment["BIND_ADDR"] ?? "0.0.0.0",
            port: port,
            databaseURL: ConninfoCompatibility.dropSearchPath(try environment.require("DATABASE_URL")),
            databasePoolSize: poolSize,
            redisURL: environment["REDIS_URL"] ?? "redis://127.0.0.1:6379/0",
            redisPassword: environment["REDIS_PASSWORD"],
            adminToken: environment["ADMIN_TOKEN"],
            rateLimitPerMinute: rateLimit,
            authCacheTTL: authCacheTTL,
            livenessTTLSeconds: ttl,
            corsOrigins: origins,
            publicURL: environment["TENANT_PUBLIC_URL"],
            skipMigrate: try environment.bool("SERVER_SKIP_MIGRATE") ?? false,
            memoryPluginURL: pluginURL,
            memoryPluginTimeout: pluginTimeout,
            memoryPluginRequired: try environment.bool("MEMORY_PLUGIN_REQUIRED") ?? true,
            memoryPluginBootWait: try environment.duration("MEMORY_PLUGIN_BOOT_WAIT") ?? .seconds(30),
            secretsEncryptionKey: try SecretsKeySetting.optional(environment),
            eventKeepAliveInterval: .seconds(max(try environment.int("SSE_KEEPALIVE_SECONDS") ?? 15, 1)),
            eventsChannel: environment["EVENTS_CHANNEL"] ?? "events:broadcast",
            eventsRetention: retention == .zero ? nil : retention,
            a2a: A2AConfiguration(
                timeout: .seconds(max(try environment.int("A2A_TIMEOUT_SECONDS") ?? 300, 1)),
                idleTimeout: .seconds(max(try environment.int("A2A_IDLE_TIMEOUT_SECONDS") ?? 120, 1)),
                maxResponseBytes: max(try environment.int("A2A_MAX_RESPONSE_BYTES") ?? 16 << 20, 1024),
                drainInterval: .milliseconds(max(try environment.int("A2A_QUEUE_DRAIN_INTERVAL_MS") ?? 250, 10)),
                caFile: environment["A2A_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 },
                delegationLease: .seconds(max(try environment.int("DELEGATION_LEASE_SECONDS") ?? 45, 3)))
        )
    }
}

extension StringProtocol {
    fileprivate func trimmed(of characters: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
