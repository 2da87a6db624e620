import Foundation
import TestSupport
import Testing

@Suite("Operations")
struct OperationsTests {
    @Test func callersOverTheRateLimitGet429JSON() async throws {
        let server = try await RunningServer(extra: ["RATE_LIMIT": "5"])
        var statuses: [Int] = []
        for _ in 0..<7 { statuses.append(try server.send("GET", "/workspaces", token: server.adminToken).status) }
        #expect(Array(statuses.prefix(5)) == [200, 200, 200, 200, 200], "\(statuses)")
        let limited = try server.send("GET", "/workspaces", token: server.adminToken)
        #expect(limited.status == 429)
        #expect(limited.errorBody?.code == "rate_limited")
        #expect(limited.headers["retry-after"] != nil)
        // Another caller has its own budget; probes are never limited.
        #expect(try server.send("GET", "/workspaces", token: "someone-else").status == 401)
        #expect(try server.send("GET", "/health").status == 200)
    }

    @Test func healthIsDegradedWithoutThePluginAndMetricsAndBuildInfoAnswer() async throws {
        let server = try await RunningServer()
        let health = try server.send("GET", "/health").object()
        #expect(health["status"] as? String == "degraded")
        #expect(health["service"] as? String == "molecule-tenant")
        #expect(health["version"] as? String != nil)
        let checks = try #require(health["checks"] as? [String: String])
        #expect(checks == ["database": "ok", "redis": "ok", "memory_plugin": "unavailable"])
        #expect(try server.send("GET", "/buildinfo").object()["git_sha"] != nil)
        let metrics = try server.send("GET", "/metrics")
        #expect(metrics.text.contains("molecule_tenant_requests_total{method=\"GET\",route=\"/health\",status=\"200\"}"))
    }

    @Test func healthIsOkWithARealPlugin() async throws {
        let database = try await TestPostgres.createDatabase("server")
        let plugin = try await RunningPlugin(databaseURL: database.url)
        defer { _ = plugin.stop() }
        let server = try await RunningServer(database: database, extra: [
            "MEMORY_PLUGIN_URL": "http://127.0.0.1:\(plugin.port)", "MEMORY_PLUGIN_REQUIRED": "1", "MEMORY_PLUGIN_BOOT_WAIT": "10s",
        ])
        let health = try server.send("GET", "/health").object()
        #expect(health["status"] as? String == "ok", "\(health)")
    }

    @Test func bootExitsWithAClearLineWhenThePluginNeverComes() async throws {
        let database = try await TestPostgres.createDatabase("server")
        defer { database.drop() }
        let pluginPort = freeTCPPort()
        let started = ContinuousClock.now
        let outcome = try MoleculeTenantBinary.run(["server", "--config", "/dev/null"], environment: [
            "DATABASE_URL": database.url, "PORT": "\(freeTCPPort())", "BIND_ADDR": "127.0.0.1", "LOG_FORMAT": "json",
            "MEMORY_PLUGIN_URL": "http://127.0.0.1:\(pluginPort)", "MEMORY_PLUGIN_REQUIRED": "1", "MEMORY_PLUGIN_BOOT_WAIT": "1s",
        ])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("molecule-tenant: memory plugin at http://127.0.0.1:\(pluginPort) did not become healthy within"), "\(outcome.stderr)")
        #expect(outcome.stderr.contains("MEMORY_PLUGIN_REQUIRED=0"))
        #expect(ContinuousClock.now - started < .seconds(20))
    }
}
