import Foundation
import NIOCore
import RedisClient
import TestSupport
import Testing

/// The shared Redis the tests talk to: `REDIS_URL`, or a developer's instance on port 56380.
let testConfiguration: RedisConfiguration = {
    let url = ProcessInfo.processInfo.environment["REDIS_URL"] ?? "redis://127.0.0.1:56380/0"
    do {
        return try RedisConfiguration(url: url, password: ProcessInfo.processInfo.environment["REDIS_PASSWORD"])
    } catch {
        fatalError("REDIS_URL is invalid: \(error)")
    }
}()

/// A key no other test (or earlier run) uses.
func uniqueKey(_ purpose: String = "key") -> String {
    "redisclient-test:\(purpose):\(UInt64.random(in: 0...UInt64.max))"
}

struct TimedOut: Error, CustomStringConvertible {
    let duration: Duration
    var description: String { "timed out after \(duration)" }
}

/// Runs `operation`, failing with `TimedOut` if it takes longer than `duration`.
@discardableResult
func withTimeout<T: Sendable>(
    _ duration: Duration, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: duration)
            throw TimedOut(duration: duration)
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

/// Reads `stream` until an event satisfies `predicate`. The stream ends when this returns.
func firstEvent(
    in stream: AsyncStream<RedisPubSubEvent>, within duration: Duration = .seconds(5),
    where predicate: @escaping @Sendable (RedisPubSubEvent) -> Bool
) async throws -> RedisPubSubEvent {
    try await withTimeout(duration) {
        for await event in stream where predicate(event) {
            return event
        }
        throw RedisError.connectionClosed
    }
}

/// A redis-server process of the test's own, for tests that need to kill, restart or configure one.
/// Owned by a single test and used from its task only, hence not Sendable.
final class RedisServerProcess {
    /// The redis-server binary: `REDIS_SERVER_BIN`, or the usual install locations.
    static let binary: String? = {
        let candidates = [ProcessInfo.processInfo.environment["REDIS_SERVER_BIN"]].compactMap { $0 }
            + ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/opt/homebrew/bin/redis-server"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    static var isAvailable: Bool { binary != nil }

    let port: Int
    private let extraArguments: [String]
    private var process: ChildProcess?

    var configuration: RedisConfiguration {
        RedisConfiguration(host: "127.0.0.1", port: port)
    }

    private init(port: Int, extraArguments: [String]) {
        self.port = port
        self.extraArguments = extraArguments
    }

    /// Starts a server without persistence on `port` and waits until it answers.
    static func start(port: Int, arguments: [String] = []) async throws -> RedisServerProcess {
        let server = RedisServerProcess(port: port, extraArguments: arguments)
        try await server.start()
        return server
    }

    /// Starts (again) on the same port.
    func start() async throws {
        guard let binary = Self.binary else { throw ServerError.binaryMissing }
        // ChildProcess (posix_spawn + waitpid): Foundation's Process was seen to hang in
        // waitUntilExit when several tests start children at once.
        self.process = try ChildProcess([
            binary, "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--logfile", "",
        ] + extraArguments)
        try await waitUntilAnswering()
    }

    /// Kills the server abruptly, as a crash would, and waits for it to exit.
    func kill() {
        guard let process else { return }
        process.signal(SIGKILL)
        _ = process.wait()
        self.process = nil
    }

    private func waitUntilAnswering() async throws {
        var probe = configuration
        probe.connectTimeout = .milliseconds(200)
        // Generous: a busy CI machine can take a while to start a process.
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            guard let process, !process.hasExited else { throw ServerError.exitedEarly(port: port) }
            if let connection = try? await RedisConnection.connect(configuration: probe) {
                // Any reply, NOAUTH included, proves the server is serving.
                _ = try? await connection.send(["PING"])
                await connection.close()
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ServerError.notAnswering(port: port)
    }

    enum ServerError: Error {
        case binaryMissing
        case exitedEarly(port: Int)
        case notAnswering(port: Int)
    }

    deinit {
        kill()
    }
}
