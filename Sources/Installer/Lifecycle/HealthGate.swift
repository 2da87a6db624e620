import FoundationEssentials

/// The install is done only when both the plugin's `/v1/health` and the server's
/// `/health` answer 200 with status "ok".
public enum HealthGate {
    public struct Result: Sendable {
        public let healthy: Bool
        public let plugin: String
        public let server: String
    }

    struct StatusBody: Decodable { let status: String? }

    static func probe(_ url: String) -> String {
        do {
            let response = try HTTPCall(timeoutSeconds: 3).send("GET", url)
            let status = (try? JSONDecoder().decode(StatusBody.self, from: Data(response.body)))?.status ?? "unknown"
            return response.status == 200 && status == "ok" ? "ok" : "HTTP \(response.status) \(status)"
        } catch {
            return error.description
        }
    }

    /// Probes until both answer ok or `seconds` pass.
    public static func wait(port: Int, seconds: Double) async -> Result {
        let deadline = MonotonicClock.seconds() + seconds
        while true {
            let plugin = probe("http://127.0.0.1:9100/v1/health")
            let server = plugin == "ok" ? probe("http://127.0.0.1:\(port)/health") : "not probed (plugin not healthy)"
            if plugin == "ok" && server == "ok" { return Result(healthy: true, plugin: plugin, server: server) }
            if MonotonicClock.seconds() > deadline { return Result(healthy: false, plugin: plugin, server: server) }
            try? await Task.sleep(for: .milliseconds(250))
        }
    }
}
