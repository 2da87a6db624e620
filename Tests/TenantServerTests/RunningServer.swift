import Foundation
import TestSupport

/// `molecule-tenant server` as a child process on a free port, against a database of
/// its own and the suite's Redis, as an operator would run it.
final class RunningServer: @unchecked Sendable {
    let process: ChildProcess
    let port: Int
    let database: TestDatabaseHandle
    let adminToken: String?
    private var stopped: ChildProcess.Outcome?

    /// - Parameters:
    ///   - adminToken: ADMIN_TOKEN, or nil to run without one.
    ///   - extra: more environment (overrides the defaults below).
    init(adminToken: String? = "admin-" + UUID().uuidString, database: TestDatabaseHandle? = nil, extra: [String: String] = [:]) async throws {
        self.database = if let database { database } else { try await TestPostgres.createDatabase("server") }
        self.adminToken = adminToken
        port = freeTCPPort()
        var environment = [
            "DATABASE_URL": self.database.url, "PORT": "\(port)", "BIND_ADDR": "127.0.0.1", "LOG_FORMAT": "json",
            "MEMORY_PLUGIN_URL": "http://127.0.0.1:\(freeTCPPort())", "MEMORY_PLUGIN_REQUIRED": "0", "MEMORY_PLUGIN_BOOT_WAIT": "0s",
            "RATE_LIMIT": "100000", "LIVENESS_TTL_SECONDS": "60",
        ]
        if let adminToken { environment["ADMIN_TOKEN"] = adminToken }
        environment.merge(extra) { _, new in new }
        process = try MoleculeTenantBinary.start(["server", "--config", "/dev/null"], environment: environment, removing: adminToken == nil ? ["ADMIN_TOKEN"] : [])
        // Migrations on a busy machine can take tens of seconds; the bound only stops a hang.
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if let health = try? TestHTTP.request("GET", port: port, path: "/health", timeout: .seconds(2)), health.status == 200 { return }
            if process.hasExited { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        process.signal(SIGKILL)
        throw TestSupportError("server did not become healthy: \(process.wait().stderr)")
    }

    /// SIGTERM, then the exit status and everything the server wrote.
    func stop() -> ChildProcess.Outcome {
        if let stopped { return stopped }
        process.signal(SIGTERM)
        let outcome = process.wait()
        stopped = outcome
        return outcome
    }

    deinit {
        if stopped == nil {
            process.signal(SIGKILL)
            _ = process.wait()
        }
        database.drop()
    }

    @discardableResult
    func send(
        _ method: String, _ path: String, _ json: String? = nil, token: String? = nil, headers: [String: String] = [:],
        timeout: Duration = .seconds(10)
    ) throws -> TestHTTP.Response {
        var all = headers
        if let token { all["Authorization"] = "Bearer \(token)" }
        return try TestHTTP.request(method, port: port, path: path, body: json.map { Data($0.utf8) }, headers: all, timeout: timeout)
    }

    /// Creates a workspace as admin and returns its id.
    func createWorkspace(_ name: String, parent: String? = nil, extra: String = "") throws -> String {
        let parentField = parent.map { #","parent_id":"\#($0)""# } ?? ""
        let response = try send("POST", "/workspaces", #"{"name":"\#(name)"\#(parentField)\#(extra)}"#, token: adminToken)
        guard response.status == 201, let id = try response.object()["id"] as? String else {
            throw TestSupportError("create \(name) failed: \(response.status) \(response.text)")
        }
        return id
    }

    /// A workspace created as admin and registered in poll mode: its id and token.
    func agent(_ name: String, parent: String? = nil) throws -> (id: String, token: String) {
        let id = try createWorkspace(name, parent: parent)
        return (id, try registerPoll(id))
    }

    /// Registers a poll-mode workspace the way the runtime does and returns its minted token.
    func registerPoll(_ id: String) throws -> String {
        let response = try send("POST", "/registry/register", #"{"id":"\#(id)","url":"","delivery_mode":"poll","agent_card":{"name":"agent-\#(id.prefix(4))"}}"#)
        guard response.status == 200, let token = try response.object()["auth_token"] as? String else {
            throw TestSupportError("register \(id) failed: \(response.status) \(response.text)")
        }
        return token
    }
}

extension TestHTTP.Response {
    func object() throws -> [String: Any] {
        guard let value = try JSONSerialization.jsonObject(with: body) as? [String: Any] else {
            throw TestSupportError("not a JSON object: \(text)")
        }
        return value
    }

    func array() throws -> [[String: Any]] {
        guard let value = try JSONSerialization.jsonObject(with: body) as? [[String: Any]] else {
            throw TestSupportError("not a JSON array: \(text)")
        }
        return value
    }

    /// The `{"error", "code"}` body every non-2xx answer carries.
    var errorBody: (error: String, code: String)? {
        guard let object = try? object(), let error = object["error"] as? String, let code = object["code"] as? String else { return nil }
        return (error, code)
    }
}
