import Foundation
import TestSupport

/// A tenant with memory: a private database, the memory plugin child process on a port
/// of our choosing (so a test can stop it and bring it back there) and the server. One
/// tenant exists at a time (its suites are `.serialized` too): every tenant is two more
/// processes, and many at once starve a 2-core machine into other suites' timeouts.
final class MemoryTenant: @unchecked Sendable {
    let database: TestDatabaseHandle
    let pluginPort: Int
    private(set) var plugin: ChildProcess?
    let server: RunningServer

    init(extra: [String: String] = [:]) async throws {
        await TenantSlot.shared.acquire()
        do {
            database = try await TestPostgres.createDatabase("memsrv")
            pluginPort = freeTCPPort()
            plugin = try await Self.startPlugin(databaseURL: database.url, port: pluginPort)
            server = try await RunningServer(database: database, extra: [
                "MEMORY_PLUGIN_URL": "http://127.0.0.1:\(pluginPort)", "MEMORY_PLUGIN_REQUIRED": "1", "MEMORY_PLUGIN_BOOT_WAIT": "20s",
                // Generous: a loaded machine must not turn a slow answer into a 503.
                "MEMORY_PLUGIN_TIMEOUT": "10s",
            ].merging(extra) { _, new in new })
        } catch {
            plugin?.signal(SIGKILL)
            _ = plugin?.wait()
            await TenantSlot.shared.release()
            throw error
        }
    }

    deinit {
        if let plugin {
            plugin.signal(SIGKILL)
            _ = plugin.wait()
        }
        Task { await TenantSlot.shared.release() }
    }

    static func startPlugin(databaseURL: String, port: Int) async throws -> ChildProcess {
        let process = try MoleculeTenantBinary.start(["memory-plugin", "--config", "/dev/null"], environment: [
            "MEMORY_PLUGIN_DATABASE_URL": databaseURL, "MEMORY_PLUGIN_LISTEN_ADDR": "127.0.0.1:\(port)", "LOG_FORMAT": "json",
        ])
        // Migrations on a busy machine can take tens of seconds; the bound only stops a hang.
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if let health = try? TestHTTP.request("GET", port: port, path: "/v1/health", timeout: .seconds(2)), health.status == 200 { return process }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.signal(SIGKILL)
        throw TestSupportError("memory plugin did not start on port \(port): \(process.wait().stderr)")
    }

    /// Kills the plugin (as a crash would) and waits until it is gone.
    func stopPlugin() {
        guard let plugin else { return }
        plugin.signal(SIGKILL)
        _ = plugin.wait()
        self.plugin = nil
    }

    func restartPlugin() async throws {
        plugin = try await Self.startPlugin(databaseURL: database.url, port: pluginPort)
    }

    /// Creates a workspace as admin and registers it like a runtime; returns (id, token).
    func agent(_ name: String, parent: String? = nil) throws -> (id: String, token: String) {
        try server.agent(name, parent: parent)
    }

    /// A JSON-RPC call to the workspace's MCP endpoint; returns the whole answer.
    func mcp(_ workspace: String, token: String, _ method: String, _ params: String = "{}", id: Int = 1) throws -> TestHTTP.Response {
        try server.send("POST", "/workspaces/\(workspace)/mcp", #"{"jsonrpc":"2.0","id":\#(id),"method":"\#(method)","params":\#(params)}"#, token: token)
    }

    /// Calls a tool and returns its text, or the JSON-RPC error message prefixed "error:".
    func tool(_ workspace: String, token: String, _ name: String, _ arguments: String = "{}") throws -> String {
        let response = try mcp(workspace, token: token, "tools/call", #"{"name":"\#(name)","arguments":\#(arguments)}"#)
        let object = try response.object()
        if let error = object["error"] as? [String: Any] { return "error: \(error["message"] as? String ?? "")" }
        let result = object["result"] as? [String: Any]
        let content = result?["content"] as? [[String: Any]]
        return content?.first?["text"] as? String ?? ""
    }
}

/// Lets one `MemoryTenant` exist at a time across all suites.
actor TenantSlot {
    static let shared = TenantSlot()
    private var taken = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func acquire() async {
        guard taken else {
            taken = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    /// Hands the slot to the next waiter, or frees it.
    func release() {
        if waiting.isEmpty { taken = false } else { waiting.removeFirst().resume() }
    }
}
