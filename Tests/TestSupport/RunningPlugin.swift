import Foundation

/// The memory plugin as a child process of the built binary, on a free loopback port.
public final class RunningPlugin: @unchecked Sendable {
    public let process: ChildProcess
    public let port: Int

    public init(databaseURL: String, extra: [String: String] = [:]) async throws {
        port = freeTCPPort()
        process = try MoleculeTenantBinary.start(["memory-plugin", "--config", "/dev/null"], environment: [
            "MEMORY_PLUGIN_DATABASE_URL": databaseURL, "MEMORY_PLUGIN_LISTEN_ADDR": "127.0.0.1:\(port)", "LOG_FORMAT": "json",
        ].merging(extra) { _, new in new })
        // Migrations on a busy machine can take tens of seconds; the bound only stops a hang.
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if let health = try? TestHTTP.request("GET", port: port, path: "/v1/health", timeout: .seconds(2)), health.status == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.signal(SIGKILL)
        throw TestSupportError("memory plugin did not become healthy: \(process.wait().stderr)")
    }

    public func stop() -> ChildProcess.Outcome {
        process.signal(SIGTERM)
        return process.wait()
    }

    public func send(_ method: String, _ path: String, _ json: String? = nil) throws -> TestHTTP.Response {
        try TestHTTP.request(method, port: port, path: path, body: json.map { Data($0.utf8) })
    }
}
