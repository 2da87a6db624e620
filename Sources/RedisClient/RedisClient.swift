import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The Redis client an application uses: a small pool of pipelined connections that connects
/// lazily and heals itself.
///
/// - Each command goes to the connected connection with the fewest commands in flight; another
///   pooled connection is opened only when all open ones are busy.
/// - When a connection drops, the pool reconnects in the background, waiting
///   `initialReconnectDelay` after a failed attempt and doubling the wait up to `maximumReconnectDelay`.
/// - A command issued while no connection is open triggers (or joins) one connection attempt
///   instead of waiting for the background schedule: it fails with `RedisError.unavailable` as soon
///   as that attempt fails (at once when the port is closed, after `connectTimeout` at worst), and
///   succeeds as soon as Redis is back.
///
/// Call `shutdown()` before dropping the client.
public final class RedisClient: RedisCommandExecutor {
    /// The configuration the client was created with.
    public let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    /// Pool state is touched by callers' tasks and by event-loop callbacks alike, hence a lock.
    /// Nothing blocking or re-entrant runs while it is held.
    private let pool: Mutex<Pool>

    /// Creates a client; no connection is opened until the first command.
    ///
    /// - Throws: `RedisConfigurationError` when `configuration` is invalid.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "RedisClient")
    ) throws(RedisConfigurationError) {
        try configuration.validate()
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.pool = Mutex(Pool(size: configuration.poolSize))
    }

    deinit {
        // Safety net for a client dropped without shutdown(): release sockets and timers.
        let leftovers = pool.withLock { $0.shutDown() }
        leftovers.connections.forEach { $0.channel.close(promise: nil) }
    }

    /// Sends one command on a pooled connection.
    ///
    /// - Throws: `RedisError.server` for an error reply, `RedisError.unavailable` when no connection
    ///   can be made, `RedisError.connectionClosed` or `RedisError.timeout` when the reply is lost.
    @discardableResult
    public func send(_ arguments: [ByteBuffer]) async throws -> RESPValue {
        let reply = try await withConnection { try await $0.write([arguments]).get()[0] }
        if case .error(let message) = reply { throw RedisError.server(message) }
        return reply
    }

    /// Sends all `commands` in one write on one connection; replies come back in order.
    ///
    /// Error replies are returned in place as `RESPValue.error`, so one failing command does not hide
    /// the results of the others.
    public func pipeline(_ commands: [[ByteBuffer]]) async throws -> [RESPValue] {
        try await withConnection { try await $0.write(commands).get() }
    }

    /// A subscriber sharing this client's configuration, on its own connection.
    public func makeSubscriber() -> RedisSubscriber {
        RedisSubscriber(configuration: configuration, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    /// Closes every connection after its in-flight replies have arrived and stops reconnecting.
    /// Commands issued afterwards fail with `RedisError.shutdown`.
    public func shutdown() async {
        let leftovers = pool.withLock { $0.shutDown() }
        await withTaskGroup(of: Void.self) { group in
            for connection in leftovers.connections {
                group.addTask { await connection.close() }
            }
            for attempt in leftovers.attempts {
                // The attempt's own completion handler closes it too; closing twice is harmless.
                group.addTask { await (try? await attempt.get())?.close() }
            }
        }
    }

    // MARK: - Leasing connections

    private func withConnection<Reply: Sendable>(
        _ body: (RedisConnection) async throws -> Reply
    ) async throws -> Reply {
        let (connection, slot) = try await acquire()
        defer { pool.withLock { $0.slots[slot].inFlight -= 1 } }
        return try await body(connection)
    }

    /// Returns a connection with its slot's in-flight count already raised.
    private func acquire() async throws -> (RedisConnection, Int) {
        var attemptsToStart: [PendingAttempt] = []
        let lease = try pool.withLock { pool throws(RedisError) -> Lease in
            try pool.lease(startingAttempts: &attemptsToStart, on: eventLoopGroup)
        }
        attemptsToStart.forEach(startAttempt)

        switch lease {
        case .ready(let connection, let slot):
            return (connection, slot)
        case .waitForAttempt(let attempt, let slot):
            let connection: RedisConnection
            do {
                connection = try await attempt.get()
            } catch let error as RedisError {
                throw error
            } catch {
                throw RedisError.unavailable
            }
            pool.withLock { $0.slots[slot].inFlight += 1 }
            return (connection, slot)
        }
    }

    // MARK: - Connecting and reconnecting

    /// Runs a connection attempt whose slot the pool has already marked as connecting.
    private func startAttempt(_ attempt: PendingAttempt) {
        let slot = attempt.slot
        attempt.promise.futureResult.whenComplete { [weak self] result in
            self?.attemptFinished(slot: slot, result: result)
        }
        RedisConnection.makeConnection(
            configuration: configuration, eventLoop: attempt.promise.futureResult.eventLoop, logger: logger
        ).cascade(to: attempt.promise)
    }

    private func attemptFinished(slot: Int, result: Result<RedisConnection, any Error>) {
        switch result {
        case .success(let connection):
            let (accepted, wasUnavailable) = pool.withLock { pool in
                pool.connected(slot: slot, connection)
            }
            guard accepted else {
                connection.channel.close(promise: nil)
                return
            }
            if wasUnavailable {
                logger.info("Redis connection restored", metadata: ["redis.server": "\(configuration.host):\(configuration.port)"])
            }
            connection.closeFuture.whenComplete { [weak self] _ in
                self?.connectionClosed(slot: slot, connection)
            }

        case .failure(let error):
            let (delay, firstFailure) = pool.withLock { pool in
                pool.attemptFailed(slot: slot, configuration: configuration)
            }
            let metadata: Logger.Metadata = [
                "redis.server": "\(configuration.host):\(configuration.port)", "error": "\(error)",
            ]
            if firstFailure {
                logger.warning("Redis connection attempt failed; retrying in the background", metadata: metadata)
            } else {
                logger.debug("Redis reconnect attempt failed", metadata: metadata)
            }
            guard let delay else { return }
            let retry = eventLoopGroup.next().scheduleTask(in: TimeAmount(delay)) { [weak self] in
                guard let self else { return }
                self.retryFired(slot: slot)
            }
            let stillWanted = pool.withLock { $0.waitingToReconnect(slot: slot, retry) }
            if !stillWanted { retry.cancel() }
        }
    }

    private func retryFired(slot: Int) {
        var attemptsToStart: [PendingAttempt] = []
        pool.withLock { pool in
            pool.retry(slot: slot, startingAttempts: &attemptsToStart, on: eventLoopGroup)
        }
        attemptsToStart.forEach(startAttempt)
    }

    private func connectionClosed(slot: Int, _ connection: RedisConnection) {
        var attemptsToStart: [PendingAttempt] = []
        let wasCurrent = pool.withLock { pool in
            pool.connectionClosed(slot: slot, connection, startingAttempts: &attemptsToStart, on: eventLoopGroup)
        }
        if wasCurrent {
            logger.debug("Redis connection closed; reconnecting", metadata: ["redis.slot": "\(slot)"])
        }
        attemptsToStart.forEach(startAttempt)
    }
}

/// A connection attempt the pool has registered and the caller must start once the lock is released.
private struct PendingAttempt: Sendable {
    let slot: Int
    let promise: EventLoopPromise<RedisConnection>
}

private enum Lease: Sendable {
    case ready(RedisConnection, slot: Int)
    case waitForAttempt(EventLoopFuture<RedisConnection>, slot: Int)
}

/// The pool's state machine. Pure bookkeeping: it decides, the client performs the I/O.
private struct Pool: Sendable {
    enum SlotState: Sendable {
        /// Never connected, or given up on after shutdown.
        case idle
        case connecting(EventLoopFuture<RedisConnection>)
        case connected(RedisConnection)
        /// A failed attempt is followed by a scheduled retry.
        case waitingToReconnect(Scheduled<Void>?)
    }

    struct Slot: Sendable {
        var state = SlotState.idle
        var inFlight = 0
        var consecutiveFailures = 0
    }

    var slots: [Slot]
    /// Rotates the starting slot so equally busy connections are used round robin.
    var nextSlot = 0
    var isShutdown = false
    /// Set on the first failure after a healthy period, so the outage is logged once.
    var isUnavailable = false

    init(size: Int) {
        slots = Array(repeating: Slot(), count: size)
    }

    mutating func lease(
        startingAttempts attempts: inout [PendingAttempt], on group: any EventLoopGroup
    ) throws(RedisError) -> Lease {
        guard !isShutdown else { throw .shutdown }
        let start = nextSlot
        nextSlot = (nextSlot + 1) % slots.count
        let order = slots.indices.map { (start + $0) % slots.count }

        var best: (slot: Int, connection: RedisConnection)?
        for index in order {
            guard case .connected(let connection) = slots[index].state, connection.isActive else { continue }
            if best == nil || slots[index].inFlight < slots[best!.slot].inFlight {
                best = (index, connection)
            }
        }
        if let best {
            // Every open connection is busy: grow the pool in the background, the command does not wait.
            if slots[best.slot].inFlight > 0, let spare = order.first(where: { canStartAttempt(slot: $0) }) {
                attempts.append(beginAttempt(slot: spare, on: group))
            }
            slots[best.slot].inFlight += 1
            return .ready(best.connection, slot: best.slot)
        }

        // Nothing is open: join an attempt under way, or make one now rather than waiting for the
        // background retry, so a command after Redis came back succeeds.
        for index in order {
            if case .connecting(let future) = slots[index].state {
                return .waitForAttempt(future, slot: index)
            }
        }
        let slot = order.first(where: { canStartAttempt(slot: $0) || isStale(slot: $0) }) ?? start
        let attempt = beginAttempt(slot: slot, on: group)
        attempts.append(attempt)
        return .waitForAttempt(attempt.promise.futureResult, slot: slot)
    }

    private func canStartAttempt(slot: Int) -> Bool {
        switch slots[slot].state {
        case .idle, .waitingToReconnect: true
        case .connecting, .connected: false
        }
    }

    /// A connection that has closed but whose close callback has not run yet.
    private func isStale(slot: Int) -> Bool {
        if case .connected(let connection) = slots[slot].state { return !connection.isActive }
        return false
    }

    private mutating func beginAttempt(slot: Int, on group: any EventLoopGroup) -> PendingAttempt {
        if case .waitingToReconnect(let retry) = slots[slot].state { retry?.cancel() }
        let promise = group.next().makePromise(of: RedisConnection.self)
        slots[slot].state = .connecting(promise.futureResult)
        return PendingAttempt(slot: slot, promise: promise)
    }

    /// - Returns: whether the connection is kept, and whether this ends an outage.
    mutating func connected(slot: Int, _ connection: RedisConnection) -> (accepted: Bool, wasUnavailable: Bool) {
        guard !isShutdown else { return (false, false) }
        slots[slot].state = .connected(connection)
        slots[slot].consecutiveFailures = 0
        defer { isUnavailable = false }
        return (true, isUnavailable)
    }

    /// - Returns: the delay before the next background attempt (`nil` after shutdown), and whether
    ///   this is the first failure of an outage.
    mutating func attemptFailed(slot: Int, configuration: RedisConfiguration) -> (delay: Duration?, firstFailure: Bool) {
        let firstFailure = !isUnavailable
        isUnavailable = true
        guard !isShutdown else { return (nil, firstFailure) }
        slots[slot].consecutiveFailures += 1
        slots[slot].state = .waitingToReconnect(nil)
        return (configuration.reconnectDelay(afterFailures: slots[slot].consecutiveFailures), firstFailure)
    }

    /// Records the scheduled retry; `false` if the slot moved on meanwhile and the retry is moot.
    mutating func waitingToReconnect(slot: Int, _ retry: Scheduled<Void>) -> Bool {
        guard !isShutdown, case .waitingToReconnect(nil) = slots[slot].state else { return false }
        slots[slot].state = .waitingToReconnect(retry)
        return true
    }

    mutating func retry(slot: Int, startingAttempts attempts: inout [PendingAttempt], on group: any EventLoopGroup) {
        guard !isShutdown, case .waitingToReconnect = slots[slot].state else { return }
        attempts.append(beginAttempt(slot: slot, on: group))
    }

    /// - Returns: `true` if `connection` was the slot's current one (and a reconnect was started).
    mutating func connectionClosed(
        slot: Int, _ connection: RedisConnection,
        startingAttempts attempts: inout [PendingAttempt], on group: any EventLoopGroup
    ) -> Bool {
        guard case .connected(let current) = slots[slot].state, current === connection else { return false }
        guard !isShutdown else {
            slots[slot].state = .idle
            return false
        }
        // Reconnect at once: most drops are a server restart or CLIENT KILL, and a refused
        // attempt costs little; failures from here on back off.
        attempts.append(beginAttempt(slot: slot, on: group))
        return true
    }

    /// Marks the pool shut down and hands back what must be closed.
    mutating func shutDown() -> (connections: [RedisConnection], attempts: [EventLoopFuture<RedisConnection>]) {
        guard !isShutdown else { return ([], []) }
        isShutdown = true
        var connections: [RedisConnection] = []
        var attempts: [EventLoopFuture<RedisConnection>] = []
        for index in slots.indices {
            switch slots[index].state {
            case .connected(let connection): connections.append(connection)
            case .connecting(let attempt): attempts.append(attempt)
            case .waitingToReconnect(let retry): retry?.cancel()
            case .idle: break
            }
            slots[index].state = .idle
        }
        return (connections, attempts)
    }
}
