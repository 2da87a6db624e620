import TenantCrypto

/// Everything `molecule-tenant server` needs, resolved from configuration
/// (DESIGN section 3). Build it in the command layer; `TenantServerApp` does the rest.
public struct TenantServerConfiguration: Sendable {
    /// Listen address (`BIND_ADDR`, default 0.0.0.0) and port (`PORT`, default 8080).
    public var host: String
    public var port: Int
    /// libpq conninfo or URL (`DATABASE_URL`).
    public var databaseURL: String
    /// Connections in the server's PostgreSQL pool.
    public var databasePoolSize: Int
    /// `redis://[user:password@]host[:port][/db]` (`REDIS_URL`) and an optional separate password (`REDIS_PASSWORD`).
    public var redisURL: String
    public var redisPassword: String?
    /// `ADMIN_TOKEN`; nil means admin routes accept only org tokens (and with none, nothing).
    public var adminToken: String?
    /// `RATE_LIMIT`: requests per minute per caller; 0 turns the limiter off.
    public var rateLimitPerMinute: Int
    /// `AUTH_CACHE_TTL` (default 5 s): how long a verified workspace token and its
    /// workspace's place in the tree are reused without asking the database. It bounds how
    /// long a revoked token can keep working on a replica that missed the invalidation
    /// published through Redis; zero turns the cache off.
    public var authCacheTTL: Duration
    /// `LIVENESS_TTL_SECONDS`: how long a workspace stays online after its last heartbeat.
    public var livenessTTLSeconds: Int
    /// How often the liveness sweep runs (default: a third of the TTL, between 1 and 30 s).
    public var livenessSweepInterval: Duration
    /// `CORS_ORIGINS` (comma-separated in the environment).
    public var corsOrigins: [String]
    /// The URL agents reach this server at, when it differs from the Host they send
    /// (behind a proxy); used for same-origin CORS and connection blocks.
    public var publicURL: String?
    /// `SERVER_SKIP_MIGRATE=1`: do not apply server migrations at boot.
    public var skipMigrate: Bool
    /// `MEMORY_PLUGIN_URL`: the memory plugin, `http://host:port`.
    public var memoryPluginURL: String
    /// `MEMORY_PLUGIN_TIMEOUT` (default 2 s): the whole of one call to the plugin.
    public var memoryPluginTimeout: Duration
    /// `MEMORY_PLUGIN_REQUIRED` (default true): without a healthy plugin at boot, exit.
    public var memoryPluginRequired: Bool
    /// `MEMORY_PLUGIN_BOOT_WAIT` (default 30 s): how long boot waits for the plugin.
    public var memoryPluginBootWait: Duration
    /// Push URLs on these hosts skip the SSRF guard (tests, trusted internal agents).
    public var trustedAgentHosts: Set<String>
    /// `SECRETS_ENCRYPTION_KEY`; nil leaves the secret routes answering 503 until it is set.
    public var secretsEncryptionKey: SecretsEncryptionKey?
    /// `SSE_KEEPALIVE_SECONDS` (default 15): how often idle event streams get a keep-alive.
    public var eventKeepAliveInterval: Duration
    /// `EVENTS_CHANNEL` (default `events:broadcast`): the Redis pub/sub channel events cross replicas on.
    public var eventsChannel: String
    /// `EVENTS_RETENTION` (default 7 days): stored events older than this are deleted;
    /// nil (`EVENTS_RETENTION=0`) keeps them forever.
    public var eventsRetention: Duration?
    /// A2A delivery limits (`A2A_*`).
    public var a2a: A2AConfiguration

    public init(
        host: String = "0.0.0.0",
        port: Int = 8080,
        databaseURL: String,
        databasePoolSize: Int = 10,
        redisURL: String = "redis://127.0.0.1:6379/0",
        redisPassword: String? = nil,
        adminToken: String? = nil,
        rateLimitPerMinute: Int = 600,
        authCacheTTL: Duration = .seconds(5),
        livenessTTLSeconds: Int = 180,
        livenessSweepInterval: Duration? = nil,
        corsOrigins: [String] = [],
        publicURL: String? = nil,
        skipMigrate: Bool = false,
        memoryPluginURL: String = "http://127.0.0.1:9100",
        memoryPluginTimeout: Duration = .seconds(2),
        memoryPluginRequired: Bool = true,
        memoryPluginBootWait: Duration = .seconds(30),
        trustedAgentHosts: Set<String> = [],
        secretsEncryptionKey: SecretsEncryptionKey? = nil,
        eventKeepAliveInterval: Duration = .seconds(15),
        eventsChannel: String = "events:broadcast",
        eventsRetention: Duration? = .seconds(7 * 86400),
        a2a: A2AConfiguration = A2AConfiguration()
    ) {
        self.host = host
        self.port = port
        self.databaseURL = databaseURL
        self.databasePoolSize = databasePoolSize
        self.redisURL = redisURL
        self.redisPassword = redisPassword
        self.adminToken = adminToken
        self.rateLimitPerMinute = rateLimitPerMinute
        self.authCacheTTL = authCacheTTL
        self.livenessTTLSeconds = livenessTTLSeconds
        self.livenessSweepInterval = livenessSweepInterval ?? .seconds(min(max(livenessTTLSeconds / 3, 1), 30))
        self.corsOrigins = corsOrigins
        self.publicURL = publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.skipMigrate = skipMigrate
        self.memoryPluginURL = memoryPluginURL
        self.memoryPluginTimeout = memoryPluginTimeout
        self.memoryPluginRequired = memoryPluginRequired
        self.memoryPluginBootWait = memoryPluginBootWait
        self.trustedAgentHosts = trustedAgentHosts
        self.secretsEncryptionKey = secretsEncryptionKey
        self.eventKeepAliveInterval = eventKeepAliveInterval
        self.eventsChannel = eventsChannel
        self.eventsRetention = eventsRetention
        self.a2a = a2a
    }
}
