import Foundation
import TestSupport
import Testing

/// The plugin is the only memory store: when it is gone every memory surface says so
/// (503 `unavailable`, a clear MCP error), nothing is written anywhere else, and the
/// surfaces recover by themselves when it returns.
@Suite("Memory plugin outage", .serialized)
struct MemoryOutageTests {
    @Test func memoryRoutesAnswer503QuicklyWriteNothingElseAndRecover() async throws {
        let tenant = try await MemoryTenant()
        let server = tenant.server
        let root = try tenant.agent("root")
        #expect(try server.send("POST", "/workspaces/\(root.id)/memories", #"{"content":"before","scope":"LOCAL"}"#, token: root.token).status == 201)
        let rowsBefore = try activityRows(server, root.id)

        tenant.stopPlugin()
        let calls: [(String, String, String?)] = [
            ("POST", "/workspaces/\(root.id)/memories", #"{"content":"during","scope":"GLOBAL"}"#),
            ("GET", "/workspaces/\(root.id)/memories", nil),
            ("GET", "/workspaces/\(root.id)/v2/memories", nil),
            ("DELETE", "/workspaces/\(root.id)/v2/memories/\(UUID().uuidString)", nil),
            ("GET", "/workspaces/\(root.id)/memory", nil),
            ("GET", "/workspaces/\(root.id)/memory/k", nil),
            ("POST", "/workspaces/\(root.id)/memory", #"{"key":"k","value":1}"#),
            ("DELETE", "/workspaces/\(root.id)/memory/k", nil),
            ("GET", "/workspaces/\(root.id)/session-search?q=x", nil),
        ]
        for (method, path, body) in calls {
            let started = ContinuousClock.now
            let response = try server.send(method, path, body, token: root.token)
            let elapsed = ContinuousClock.now - started
            #expect(response.status == 503, "\(method) \(path): \(response.status) \(response.text)")
            #expect(response.errorBody?.code == "unavailable", "\(method) \(path): \(response.text)")
            #expect(elapsed < .milliseconds(2500), "\(method) \(path) took \(elapsed)")
        }
        for path in ["/admin/memories/export"] {
            #expect(try server.send("GET", path, token: server.adminToken).status == 503)
        }
        #expect(try server.send("POST", "/admin/memories/import", #"[{"content":"c","workspace_name":"root"}]"#, token: server.adminToken).status == 503)
        let error = try tenant.tool(root.id, token: root.token, "commit_memory", #"{"content":"during"}"#)
        #expect(error.hasPrefix("error: memory plugin unavailable"), "\(error)")
        let mcpAnswer = try tenant.mcp(root.id, token: root.token, "tools/call", #"{"name":"recall_memory","arguments":{}}"#).object()
        let data = (mcpAnswer["error"] as? [String: Any])?["data"] as? [String: Any]
        #expect(data?["code"] as? String == "unavailable")
        #expect(data?["status"] as? Int == 503)
        let health = try server.send("GET", "/health").object()
        #expect((health["checks"] as? [String: String])?["memory_plugin"] == "unavailable")
        #expect(health["status"] as? String == "degraded")
        let metrics = try server.send("GET", "/metrics").text
        #expect(metrics.contains("molecule_tenant_memory_plugin_breaker_open 1"), "\(metrics)")
        #expect(metrics.contains("molecule_tenant_memory_plugin_breaker_opened_total ") && !metrics.contains("molecule_tenant_memory_plugin_breaker_opened_total 0\n"))
        // Nothing was written anywhere else: no audit rows, no fallback.
        #expect(try activityRows(server, root.id) == rowsBefore)

        try await tenant.restartPlugin()
        var status = 0
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(30) {
            status = try server.send("POST", "/workspaces/\(root.id)/memories", #"{"content":"after","scope":"LOCAL"}"#, token: root.token).status
            if status == 201 { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(status == 201)
        let recalled = try server.send("GET", "/workspaces/\(root.id)/memories", token: root.token).text
        #expect(recalled.contains("before") && recalled.contains("after") && !recalled.contains("during"))
        #expect((try server.send("GET", "/health").object()["checks"] as? [String: String])?["memory_plugin"] == "ok")
        #expect(try server.send("GET", "/metrics").text.contains("molecule_tenant_memory_plugin_breaker_open 0"))
    }

    @Test func aHungPluginIsCutOffByTheTimeout() async throws {
        let tenant = try await MemoryTenant(extra: ["MEMORY_PLUGIN_TIMEOUT": "1s"])
        let server = tenant.server
        let root = try tenant.agent("root")
        let plugin = try #require(tenant.plugin)
        plugin.signal(SIGSTOP)
        defer { plugin.signal(SIGCONT) }
        let started = ContinuousClock.now
        let response = try server.send("GET", "/workspaces/\(root.id)/memories", token: root.token)
        #expect(response.status == 503)
        #expect(ContinuousClock.now - started < .milliseconds(2500))
        plugin.signal(SIGCONT)
        var status = 0
        let resumed = ContinuousClock.now
        while ContinuousClock.now - resumed < .seconds(30) {
            status = try server.send("GET", "/workspaces/\(root.id)/memories", token: root.token).status
            if status == 200 { break }
            try await Task.sleep(for: .milliseconds(250))
        }
        #expect(status == 200)
    }

    @Test func withoutARequiredPluginTheServerRunsDegradedAndSaysSo() async throws {
        let server = try await RunningServer()
        let (root, token) = try server.agent("lonely")
        let response = try server.send("POST", "/workspaces/\(root)/memories", #"{"content":"x","scope":"LOCAL"}"#, token: token)
        #expect(response.status == 503)
        #expect(response.errorBody?.code == "unavailable")
        #expect((try server.send("GET", "/health").object()["checks"] as? [String: String])?["memory_plugin"] == "unavailable")
        let outcome = server.stop()
        #expect(outcome.stderr.contains("running degraded") || outcome.stdout.contains("running degraded"))
    }

    private func activityRows(_ server: RunningServer, _ workspace: String) throws -> Int {
        try server.send("GET", "/workspaces/\(workspace)/activity?limit=500", token: server.adminToken).array().count
    }
}
