import BuildInfo
import Hummingbird
import MemoryPluginClient
import NIOCore
import Postgres
import RedisClient

/// `/health`, `/buildinfo` and `/metrics`: public, no auth, nothing sensitive.
struct OperationsRoutes: Sendable {
    let pool: PostgresPool
    let redis: RedisClient
    let metrics: ServerMetrics
    let memoryPlugin: MemoryPluginClient

    func register(on router: Router<TenantRequestContext>) {
        router.get("/health", use: health)
        router.get("/buildinfo", use: buildInfo)
        router.get("/metrics", use: renderMetrics)
    }

    struct Health: Encodable {
        let status: String
        let service = "molecule-tenant"
        let version: String
        let gitSHA: String
        let checks: [String: String]

        enum CodingKeys: String, CodingKey {
            case status, service, version, checks
            case gitSHA = "git_sha"
        }
    }

    /// 200 "ok" when every check passes; "degraded" otherwise, still 200 while the
    /// database answers (the server can serve), 503 when it does not.
    @Sendable func health(_ request: Request, context: TenantRequestContext) async throws -> Response {
        async let database = check { try await pool.query("SELECT 1") }
        async let cache = check { _ = try await redis.ping() }
        // Through the shared client: an open breaker shows as unavailable, and a health
        // answer while it is half-open is the probe that closes it.
        async let plugin = MemoryPluginLink.isHealthy(memoryPlugin)
        let checks = ["database": await database ? "ok" : "unavailable", "redis": await cache ? "ok" : "unavailable",
                      "memory_plugin": await plugin ? "ok" : "unavailable"]
        let healthy = checks.values.allSatisfy { $0 == "ok" }
        let body = Health(status: healthy ? "ok" : "degraded", version: BuildInfo.version, gitSHA: BuildInfo.commit, checks: checks)
        return try JSONResponse.make(body, status: checks["database"] == "ok" ? .ok : .serviceUnavailable)
    }

    private func check(_ body: @Sendable () async throws -> Void) async -> Bool {
        do {
            try await body()
            return true
        } catch {
            return false
        }
    }

    struct Build: Encodable {
        let gitSHA: String
        let version: String
        let buildDate: String

        enum CodingKeys: String, CodingKey {
            case version
            case gitSHA = "git_sha"
            case buildDate = "build_date"
        }
    }

    @Sendable func buildInfo(_ request: Request, context: TenantRequestContext) async throws -> Response {
        try JSONResponse.ok(Build(gitSHA: BuildInfo.commit, version: BuildInfo.version, buildDate: BuildInfo.buildDate))
    }

    @Sendable func renderMetrics(_ request: Request, context: TenantRequestContext) async throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4"
        let text = metrics.render(pool: pool.statistics) + Self.render(memoryPlugin.breaker.snapshot)
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The memory plugin client's circuit breaker, so an alert can fire while memory is refused.
    static func render(_ breaker: CircuitBreaker.Snapshot) -> String {
        """
        # HELP molecule_tenant_memory_plugin_breaker_open 1 while calls to the memory plugin are refused (open or half-open).
        # TYPE molecule_tenant_memory_plugin_breaker_open gauge
        molecule_tenant_memory_plugin_breaker_open \(breaker.state == .closed ? 0 : 1)
        # HELP molecule_tenant_memory_plugin_breaker_opened_total Times the breaker opened since start.
        # TYPE molecule_tenant_memory_plugin_breaker_opened_total counter
        molecule_tenant_memory_plugin_breaker_opened_total \(breaker.openedTotal)
        # HELP molecule_tenant_memory_plugin_rejected_total Calls refused by the open breaker without dialling.
        # TYPE molecule_tenant_memory_plugin_rejected_total counter
        molecule_tenant_memory_plugin_rejected_total \(breaker.rejectedTotal)

        """
    }
}
