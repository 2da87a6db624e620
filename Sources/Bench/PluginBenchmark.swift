import NIOPosix

/// `bench plugin`: load on a running memory plugin over HTTP with the bench's own
/// keep-alive client (one blocking socket per thread): prefill, then commits, full-text
/// searches and recent-first listings, each phase for `duration` at `concurrency`.
public struct PluginBenchmark: Sendable {
    public struct Result: Sendable, Codable {
        public var bench = "plugin"
        public var client = "built-in keep-alive HTTP/1.1, one thread per connection"
        public var concurrency: Int
        public var secondsPerPhase: Double
        public var prefilled: Int
        public var commitsPerSecond: Double
        public var commitMs: LatencySummary
        public var searchMs: LatencySummary
        public var listingMs: LatencySummary
        public var errors: Int

        enum CodingKeys: String, CodingKey {
            case bench, client, concurrency, prefilled, errors
            case secondsPerPhase = "seconds_per_phase"
            case commitsPerSecond = "commits_per_sec"
            case commitMs = "commit_ms"
            case searchMs = "search_ms"
            case listingMs = "listing_ms"
        }
    }

    public let host: String
    public let port: UInt16
    public let concurrency: Int
    public let duration: Duration
    public let prefill: Int
    public let namespace: String
    public let phases: Set<Phase>

    /// The measured phases; skipping some isolates one phase's cost (e.g. CPU per commit).
    public enum Phase: String, Sendable, CaseIterable {
        case commit, search, listing
    }

    public init(host: String, port: UInt16, concurrency: Int, duration: Duration, prefill: Int, namespace: String, phases: Set<Phase> = Set(Phase.allCases)) {
        self.host = host
        self.port = port
        self.concurrency = concurrency
        self.duration = duration
        self.prefill = prefill
        self.namespace = namespace
        self.phases = phases
    }

    static let words = ["deploy", "release", "database", "memory", "agent", "plan", "review", "fox", "budget", "incident", "schedule", "design"]

    static func commitBody(_ worker: Int, _ sequence: Int) -> [UInt8] {
        let a = words[(worker * 7 + sequence) % words.count]
        let b = words[(sequence * 3 + 1) % words.count]
        return Array(#"{"content":"note \#(worker)-\#(sequence): the \#(a) of the \#(b) went as planned","kind":"fact","source":"agent"}"#.utf8)
    }

    public func run() async throws -> Result {
        let threads = NIOThreadPool(numberOfThreads: concurrency)
        threads.start()
        defer { threads.shutdownGracefully { _ in } }
        let commitPath = "/v1/namespaces/\(namespace)/memories"
        let searchBody = Array(#"{"namespaces":["\#(namespace)"],"query":"deploy release","limit":20}"#.utf8)
        let listingBody = Array(#"{"namespaces":["\#(namespace)"],"limit":20}"#.utf8)

        // Prefill, split across the workers.
        let perWorker = (prefill + concurrency - 1) / concurrency
        _ = try await phase(threads, until: nil, count: perWorker) { client, worker, sequence in
            try client.send("POST", commitPath, body: Self.commitBody(worker, 1_000_000 + sequence)) == 201
        }
        let commits = try await phase(.commit, threads) { client, worker, sequence in
            try client.send("POST", commitPath, body: Self.commitBody(worker, sequence)) == 201
        }
        let searches = try await phase(.search, threads) { client, _, _ in
            try client.send("POST", "/v1/search", body: searchBody) == 200
        }
        let listings = try await phase(.listing, threads) { client, _, _ in
            try client.send("POST", "/v1/search", body: listingBody) == 200
        }
        return Result(
            concurrency: concurrency,
            secondsPerPhase: rounded3(duration.milliseconds / 1000),
            prefilled: perWorker * concurrency,
            commitsPerSecond: commits.seconds > 0 ? (Double(commits.samples.count) / commits.seconds).rounded() : 0,
            commitMs: LatencySummary(samples: commits.samples).rounded(),
            searchMs: LatencySummary(samples: searches.samples).rounded(),
            listingMs: LatencySummary(samples: listings.samples).rounded(),
            errors: commits.errors + searches.errors + listings.errors
        )
    }

    /// One timed phase, or nothing when it was not asked for.
    private func phase(
        _ which: Phase, _ threads: NIOThreadPool, _ request: @escaping @Sendable (HTTPLoadClient, Int, Int) throws -> Bool
    ) async throws -> LoadPhase.Outcome {
        guard phases.contains(which) else { return LoadPhase.Outcome(samples: [], errors: 0, seconds: 0) }
        return try await phase(threads, until: duration, count: nil, request)
    }

    /// Runs `request` on every worker until `until` elapses or each has done `count`.
    private func phase(
        _ threads: NIOThreadPool, until: Duration?, count: Int?,
        _ request: @escaping @Sendable (HTTPLoadClient, Int, Int) throws -> Bool
    ) async throws -> LoadPhase.Outcome {
        try await LoadPhase(host: host, port: port, concurrency: concurrency).run(threads, until: until, count: count, request)
    }
}

extension LatencySummary {
    func rounded() -> LatencySummary {
        var copy = self
        copy.p50 = rounded3(p50)
        copy.p99 = rounded3(p99)
        copy.max = rounded3(max)
        return copy
    }
}
