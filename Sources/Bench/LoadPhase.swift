import NIOPosix

/// One measured phase of a load benchmark: `concurrency` workers, each on its own thread
/// with its own keep-alive connection, send requests until the deadline passes or each
/// has sent `count`. Latencies of successful requests are kept; failures are counted.
struct LoadPhase: Sendable {
    struct Outcome: Sendable {
        var samples: [Double]
        var errors: Int
        var seconds: Double
    }

    let host: String
    let port: UInt16
    let concurrency: Int

    func run(
        _ threads: NIOThreadPool, until: Duration?, count: Int?,
        _ request: @escaping @Sendable (HTTPLoadClient, Int, Int) throws -> Bool
    ) async throws -> Outcome {
        let clock = ContinuousClock()
        let started = clock.now
        let deadline = until.map { started.advanced(by: $0) }
        let (host, port) = (host, port)
        let parts = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    try await threads.runIfActive {
                        let client = try HTTPLoadClient(host: host, port: port)
                        var samples: [Double] = []
                        var errors = 0
                        var sequence = 0
                        while true {
                            if let deadline, clock.now >= deadline { break }
                            if let count, sequence >= count { break }
                            sequence += 1
                            let begin = clock.now
                            if try request(client, worker, sequence) { samples.append((clock.now - begin).milliseconds) } else { errors += 1 }
                        }
                        return Outcome(samples: samples, errors: errors, seconds: 0)
                    }
                }
            }
            var all: [Outcome] = []
            for try await part in group { all.append(part) }
            return all
        }
        return Outcome(samples: parts.flatMap(\.samples), errors: parts.reduce(0) { $0 + $1.errors }, seconds: (clock.now - started).milliseconds / 1000)
    }
}
