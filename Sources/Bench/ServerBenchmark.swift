import FoundationEssentials
import NIOPosix

/// `bench server`: what the server adds to a memory round trip. The same commits and
/// recalls go through the server (auth, tree lookup, redaction, plugin call) and straight
/// to the plugin, alternating phases at the same concurrency, and the p50 difference is
/// reported. Needs the server's ADMIN_TOKEN to create a workspace of its own, and a server
/// whose rate limit does not throttle the bench (RATE_LIMIT=0).
public struct ServerBenchmark: Sendable {
    public struct Endpoint: Sendable {
        public let host: String
        public let port: UInt16
        public init(host: String, port: UInt16) {
            self.host = host
            self.port = port
        }
    }

    public struct Result: Sendable, Codable {
        public var bench = "server"
        public var client = "built-in keep-alive HTTP/1.1, one thread per connection"
        public var concurrency: Int
        public var secondsPerPhase: Double
        public var prefilled: Int
        public var serverCommitMs: LatencySummary
        public var pluginCommitMs: LatencySummary
        public var serverRecallMs: LatencySummary
        public var pluginRecallMs: LatencySummary
        /// Server p50 minus plugin p50 (DESIGN target: at most 1 ms).
        public var commitAddedP50Ms: Double
        public var recallAddedP50Ms: Double
        public var errors: Int

        enum CodingKeys: String, CodingKey {
            case bench, client, concurrency, prefilled, errors
            case secondsPerPhase = "seconds_per_phase"
            case serverCommitMs = "server_commit_ms"
            case pluginCommitMs = "plugin_commit_ms"
            case serverRecallMs = "server_recall_ms"
            case pluginRecallMs = "plugin_recall_ms"
            case commitAddedP50Ms = "commit_added_p50_ms"
            case recallAddedP50Ms = "recall_added_p50_ms"
        }
    }

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public let server: Endpoint
    public let plugin: Endpoint
    public let adminToken: String
    public let concurrency: Int
    public let duration: Duration
    public let prefill: Int

    public init(server: Endpoint, plugin: Endpoint, adminToken: String, concurrency: Int, duration: Duration, prefill: Int) {
        self.server = server
        self.plugin = plugin
        self.adminToken = adminToken
        self.concurrency = concurrency
        self.duration = duration
        self.prefill = prefill
    }

    public func run() async throws -> Result {
        let (workspace, token) = try setUp()
        let auth = "Authorization: Bearer \(token)\r\n"
        let namespace = "workspace:\(workspace)"
        let threads = NIOThreadPool(numberOfThreads: concurrency)
        threads.start()
        defer { threads.shutdownGracefully { _ in } }
        let viaServer = LoadPhase(host: server.host, port: server.port, concurrency: concurrency)
        let viaPlugin = LoadPhase(host: plugin.host, port: plugin.port, concurrency: concurrency)
        let serverCommit = "/workspaces/\(workspace)/memories"
        let pluginCommit = "/v1/namespaces/\(namespace)/memories"
        // One namespace on both sides: the server's LOCAL scope is the plugin's workspace namespace.
        let serverRecall = "/workspaces/\(workspace)/memories?scope=LOCAL&q=deploy%20release&limit=20"
        let pluginRecall = Array(#"{"namespaces":["\#(namespace)"],"query":"deploy release","limit":20}"#.utf8)

        let perWorker = (prefill + concurrency - 1) / concurrency
        _ = try await viaPlugin.run(threads, until: nil, count: perWorker) { client, worker, sequence in
            try client.send("POST", pluginCommit, body: Self.pluginBody(worker, 1_000_000 + sequence)) == 201
        }
        // Warm both paths (connections, caches) before measuring.
        _ = try await viaServer.run(threads, until: .milliseconds(500), count: nil) { client, worker, sequence in
            try client.send("GET", serverRecall, body: [], headers: auth) == 200
        }
        let serverCommits = try await viaServer.run(threads, until: duration, count: nil) { client, worker, sequence in
            try client.send("POST", serverCommit, body: Self.serverBody(worker, sequence), headers: auth) == 201
        }
        let pluginCommits = try await viaPlugin.run(threads, until: duration, count: nil) { client, worker, sequence in
            try client.send("POST", pluginCommit, body: Self.pluginBody(worker, sequence)) == 201
        }
        let serverRecalls = try await viaServer.run(threads, until: duration, count: nil) { client, _, _ in
            try client.send("GET", serverRecall, body: [], headers: auth) == 200
        }
        let pluginRecalls = try await viaPlugin.run(threads, until: duration, count: nil) { client, _, _ in
            try client.send("POST", "/v1/search", body: pluginRecall) == 200
        }
        let summaries = [serverCommits, pluginCommits, serverRecalls, pluginRecalls].map { LatencySummary(samples: $0.samples).rounded() }
        return Result(
            concurrency: concurrency, secondsPerPhase: rounded3(duration.milliseconds / 1000), prefilled: perWorker * concurrency,
            serverCommitMs: summaries[0], pluginCommitMs: summaries[1], serverRecallMs: summaries[2], pluginRecallMs: summaries[3],
            commitAddedP50Ms: rounded3(summaries[0].p50 - summaries[1].p50), recallAddedP50Ms: rounded3(summaries[2].p50 - summaries[3].p50),
            errors: serverCommits.errors + pluginCommits.errors + serverRecalls.errors + pluginRecalls.errors)
    }

    /// A fresh workspace (admin API) and its token (the runtime's first register).
    func setUp() throws -> (workspace: String, token: String) {
        let client = try HTTPLoadClient(host: server.host, port: server.port)
        let name = "bench-\(UInt32.random(in: 0...UInt32.max))"
        let created = try client.exchange("POST", "/workspaces", body: Array(#"{"name":"\#(name)"}"#.utf8),
                                          headers: "Authorization: Bearer \(adminToken)\r\n")
        guard created.status == 201, let workspace = try? JSONDecoder().decode(Created.self, from: Data(created.body)).id else {
            throw Failure(description: "creating the bench workspace answered \(created.status): is --admin-token the server's ADMIN_TOKEN?")
        }
        let registered = try client.exchange("POST", "/registry/register",
                                             body: Array(#"{"id":"\#(workspace)","url":"","delivery_mode":"poll"}"#.utf8))
        guard registered.status == 200, let token = try? JSONDecoder().decode(Registered.self, from: Data(registered.body)).authToken else {
            throw Failure(description: "registering the bench workspace answered \(registered.status)")
        }
        let probe = try client.send("GET", "/workspaces/\(workspace)/memories", body: [], headers: "Authorization: Bearer \(token)\r\n")
        guard probe == 200 else {
            throw Failure(description: probe == 429 ? "the server rate-limits the bench: run it with RATE_LIMIT=0"
                : "recall through the server answered \(probe): is the memory plugin up?")
        }
        return (workspace, token)
    }

    struct Created: Decodable { let id: String }

    struct Registered: Decodable {
        let authToken: String
        enum CodingKeys: String, CodingKey { case authToken = "auth_token" }
    }

    static func serverBody(_ worker: Int, _ sequence: Int) -> [UInt8] {
        let (a, b) = words(worker, sequence)
        return Array(#"{"content":"note \#(worker)-\#(sequence): the \#(a) of the \#(b) went as planned","scope":"LOCAL"}"#.utf8)
    }

    static func pluginBody(_ worker: Int, _ sequence: Int) -> [UInt8] {
        let (a, b) = words(worker, sequence)
        return Array(#"{"content":"note \#(worker)-\#(sequence): the \#(a) of the \#(b) went as planned","kind":"fact","source":"agent"}"#.utf8)
    }

    private static func words(_ worker: Int, _ sequence: Int) -> (String, String) {
        let words = PluginBenchmark.words
        return (words[(worker * 7 + sequence) % words.count], words[(sequence * 3 + 1) % words.count])
    }
}
