import Logging
import NIOPosix
import Synchronization

/// A bounded pool of libpq connections with an async API.
///
/// libpq calls block, so they run on the pool's own threads (one per connection), never
/// on an event loop or Swift's cooperative threads. When every connection is busy,
/// callers wait in FIFO order up to `acquireTimeout` (backpressure, not unbounded
/// connection growth). Broken connections are dropped and replaced on demand, so the
/// pool recovers by itself after PostgreSQL restarts.
public final class PostgresPool: Sendable {
    public struct Configuration: Sendable {
        /// libpq conninfo or URL.
        public var conninfo: String
        public var maxConnections: Int
        public var acquireTimeout: Duration
        /// Default statement_timeout for every session; nil leaves the server's setting.
        public var statementTimeout: Duration?
        public var connectTimeoutSeconds: Int
        public var applicationName: String
        /// Session settings (`set_config`) applied to every new connection, e.g. extension
        /// options such as `hnsw.iterative_scan`; placeholders are fine before the extension loads.
        public var sessionSettings: [String: String]

        public init(
            conninfo: String,
            maxConnections: Int = 2 * System.coreCount + 2,
            acquireTimeout: Duration = .seconds(5),
            statementTimeout: Duration? = nil,
            connectTimeoutSeconds: Int = 5,
            applicationName: String = "molecule-tenant",
            sessionSettings: [String: String] = [:]
        ) {
            self.conninfo = conninfo
            self.maxConnections = max(1, maxConnections)
            self.acquireTimeout = acquireTimeout
            self.statementTimeout = statementTimeout
            self.connectTimeoutSeconds = max(2, connectTimeoutSeconds)
            self.applicationName = applicationName
            self.sessionSettings = sessionSettings
        }
    }

    /// A snapshot for metrics and health.
    public struct Statistics: Sendable, Equatable {
        public var open: Int
        public var idle: Int
        public var inUse: Int
        public var waiting: Int
    }

    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<PostgresConnection, any Error>
    }

    private struct State {
        var idle: [PostgresConnection] = []
        /// Open connections plus those being opened.
        var total = 0
        var waiters: [Waiter] = []
        var nextWaiterID: UInt64 = 0
        var closed = false
    }

    public let configuration: Configuration
    private let state = Mutex(State())
    private let threads: NIOThreadPool
    private let logger: Logger

    public init(_ configuration: Configuration, logger: Logger = Logger(label: "postgres")) {
        self.configuration = configuration
        self.logger = logger
        self.threads = NIOThreadPool(numberOfThreads: configuration.maxConnections)
        threads.start()
    }

    public var statistics: Statistics {
        state.withLock { state in
            Statistics(open: state.total, idle: state.idle.count, inUse: state.total - state.idle.count, waiting: state.waiters.count)
        }
    }

    // MARK: - Using a connection

    /// Runs `body` with one connection held for its whole duration. The connection goes
    /// back to the pool afterwards, or is dropped if it broke.
    public func withConnection<T: Sendable>(_ body: (PostgresSession) async throws -> T) async throws -> T {
        let connection = try await acquire()
        let session = PostgresSession(connection: connection, threads: threads)
        do {
            let value = try await body(session)
            release(connection)
            return value
        } catch {
            release(connection)
            throw error
        }
    }

    /// Runs one statement on any free connection.
    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> PostgresResult {
        try await withConnection { try await $0.query(sql, parameters) }
    }

    /// Runs `body` inside BEGIN ... COMMIT; any thrown error rolls back.
    public func transaction<T: Sendable>(_ body: (PostgresSession) async throws -> T) async throws -> T {
        try await withConnection { session in try await session.transaction(body) }
    }

    /// Runs statements in pipeline mode on one connection (see `PostgresConnection.pipeline`).
    public func pipeline(_ statements: [PostgresConnection.Statement]) async throws -> [Result<PostgresResult, PostgresError>] {
        try await withConnection { try await $0.pipeline(statements) }
    }

    /// Closes idle connections and fails waiters; connections in use close when returned.
    public func shutdown() async {
        let (idle, waiters) = state.withLock { state in
            state.closed = true
            defer {
                state.total -= state.idle.count
                state.idle = []
                state.waiters = []
            }
            return (state.idle, state.waiters)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: PostgresError(kind: .poolClosed, message: "the database pool is shut down")) }
        for connection in idle { connection.close() }
        try? await threads.shutdownGracefully()
    }

    // MARK: - Acquire and release

    private enum Step {
        case reuse(PostgresConnection)
        case open
        case wait
    }

    private func acquire() async throws -> PostgresConnection {
        while true {
            try Task.checkCancellation()
            switch try nextStep() {
            case .reuse(let connection):
                if connection.isHealthyWhileIdle() { return connection }
                logger.debug("dropping a stale database connection", metadata: ["backend_pid": "\(connection.backendPID)"])
                connection.close()
                state.withLock { $0.total -= 1 }
                continue
            case .open:
                do {
                    return try await open()
                } catch {
                    state.withLock { $0.total -= 1 }
                    throw error
                }
            case .wait:
                return try await waitForConnection()
            }
        }
    }

    /// Decides under the lock what an acquire does next. Kept out of the async function:
    /// Swift 6.3's optimiser crashed splitting `acquire()` with this closure inlined.
    private func nextStep() throws(PostgresError) -> Step {
        let step: Step? = state.withLock { state in
            guard !state.closed else { return nil }
            if let connection = state.idle.popLast() { return .reuse(connection) }
            if state.total < configuration.maxConnections {
                state.total += 1
                return .open
            }
            return .wait
        }
        guard let step else { throw PostgresError(kind: .poolClosed, message: "the database pool is shut down") }
        return step
    }

    private func open() async throws -> PostgresConnection {
        let configuration = configuration
        return try await threads.runIfActive {
            let connection = try PostgresConnection.connect(
                configuration.conninfo,
                applicationName: configuration.applicationName,
                connectTimeoutSeconds: configuration.connectTimeoutSeconds
            )
            if let timeout = configuration.statementTimeout {
                try connection.setStatementTimeout(milliseconds: timeout.wholeMilliseconds)
            }
            for (name, value) in configuration.sessionSettings.sorted(by: { $0.key < $1.key }) {
                _ = try connection.query("SELECT set_config($1, $2, false)", [name, value])
            }
            return connection
        }
    }

    private func waitForConnection() async throws -> PostgresConnection {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        let timeout = configuration.acquireTimeout
        let timer = Task { [weak self] in
            try await Task.sleep(for: timeout)
            self?.failWaiter(id, with: PostgresError(
                kind: .poolTimeout,
                message: "no database connection became free within \(timeout) (pool size \(self?.configuration.maxConnections ?? 0))"
            ))
        }
        defer { timer.cancel() }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<PostgresConnection, any Error>) in
                let closed = state.withLock { state in
                    if state.closed { return true }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return false
                }
                if closed { continuation.resume(throwing: PostgresError(kind: .poolClosed, message: "the database pool is shut down")) }
            }
        } onCancel: {
            failWaiter(id, with: CancellationError())
        }
    }

    private func failWaiter(_ id: UInt64, with error: any Error) {
        let waiter = state.withLock { state -> Waiter? in
            guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.waiters.remove(at: index)
        }
        waiter?.continuation.resume(throwing: error)
    }

    private func release(_ connection: PostgresConnection) {
        let healthy = connection.isOpen && !state.withLock { $0.closed }
        if !healthy { connection.close() }
        enum Next { case handOver(Waiter), idle, openFor(Waiter), nothing }
        let next: Next = state.withLock { state in
            if healthy {
                if !state.waiters.isEmpty { return .handOver(state.waiters.removeFirst()) }
                state.idle.append(connection)
                return .idle
            }
            // The broken connection's slot is free: open a new one for the next waiter.
            if !state.waiters.isEmpty && !state.closed { return .openFor(state.waiters.removeFirst()) }
            state.total -= 1
            return .nothing
        }
        switch next {
        case .handOver(let waiter):
            waiter.continuation.resume(returning: connection)
        case .openFor(let waiter):
            Task {
                do {
                    waiter.continuation.resume(returning: try await open())
                } catch {
                    state.withLock { $0.total -= 1 }
                    waiter.continuation.resume(throwing: error)
                }
            }
        case .idle, .nothing:
            break
        }
    }
}
