import Logging
import NIOCore
import NIOPosix

/// A message received on a subscribed channel or pattern.
public struct RedisPubSubMessage: Sendable, Hashable {
    /// The channel it was published to, e.g. `__keyevent@0__:expired`.
    public var channel: String
    /// The pattern that matched, for messages received through `psubscribe`.
    public var pattern: String?
    /// The published bytes.
    public var payload: ByteBuffer

    /// Creates a message, e.g. to compare against in tests.
    public init(channel: String, pattern: String? = nil, payload: ByteBuffer) {
        self.channel = channel
        self.pattern = pattern
        self.payload = payload
    }

    /// The payload decoded as UTF-8 (for keyspace notifications: the key or the event name).
    public var payloadString: String { String(buffer: payload) }
}

/// What a subscription stream yields.
public enum RedisPubSubEvent: Sendable, Hashable {
    /// A published message.
    case message(RedisPubSubMessage)
    /// The connection was lost and has been re-established with all subscriptions restored.
    /// Messages published in between were missed; re-read whatever state they would have announced.
    case reconnected
}

/// Receives pub/sub messages on a dedicated connection, which it re-establishes (re-subscribing
/// everything) whenever it is lost.
///
/// Each `subscribe`/`psubscribe` call returns its own stream; ending the iteration (or dropping the
/// stream) unsubscribes whatever no other stream still needs. Call `shutdown()` to finish all
/// streams and close the connection.
public final class RedisSubscriber: Sendable {
    private let configuration: RedisConfiguration
    private let logger: Logger
    private let healthCheckInterval: Duration
    /// Every connection of this subscriber runs on this loop, and all state is confined to it, so
    /// subscribe and unsubscribe commands reach the server in the order the state changed.
    private let eventLoop: any EventLoop
    private let state: NIOLoopBoundBox<State>

    /// Creates a subscriber; it connects on the first subscription.
    ///
    /// - Parameter healthCheckInterval: How often an idle connection is probed with `PING`, so that
    ///   a silently dead connection is replaced instead of just delivering nothing.
    public init(
        configuration: RedisConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "RedisClient"),
        healthCheckInterval: Duration = .seconds(15)
    ) {
        self.configuration = configuration
        self.logger = logger
        self.healthCheckInterval = healthCheckInterval
        self.eventLoop = eventLoopGroup.next()
        self.state = .makeBoxSendingValue(State(), eventLoop: eventLoop)
    }

    /// Subscribes to channels by exact name.
    ///
    /// Returns once the server has confirmed the subscription: anything published afterwards is delivered.
    /// - Throws: `RedisError.unavailable` if Redis cannot be reached now, `RedisError.server` if it refuses.
    public func subscribe(
        _ channels: [String],
        bufferingPolicy: AsyncStream<RedisPubSubEvent>.Continuation.BufferingPolicy = .unbounded
    ) async throws -> AsyncStream<RedisPubSubEvent> {
        try await addSubscription(channels: channels, patterns: [], bufferingPolicy: bufferingPolicy)
    }

    /// Subscribes to channels matching glob-style patterns, e.g. `__keyevent@0__:*`.
    ///
    /// Messages carry the matching pattern in `RedisPubSubMessage.pattern`.
    public func psubscribe(
        _ patterns: [String],
        bufferingPolicy: AsyncStream<RedisPubSubEvent>.Continuation.BufferingPolicy = .unbounded
    ) async throws -> AsyncStream<RedisPubSubEvent> {
        try await addSubscription(channels: [], patterns: patterns, bufferingPolicy: bufferingPolicy)
    }

    /// Finishes every stream, closes the connection and stops reconnecting.
    public func shutdown() async {
        let channel = try? await eventLoop.flatSubmit { () -> EventLoopFuture<(any Channel)?> in
            self.shutDownOnLoop()
        }.get()
        if let channel {
            try? await channel.close()
        }
    }

    // MARK: - Everything below runs on `eventLoop`.

    private struct Subscription {
        let continuation: AsyncStream<RedisPubSubEvent>.Continuation
        let channels: Set<String>
        let patterns: Set<String>
        /// The connection was lost since this subscription was last confirmed.
        var interrupted = false
    }

    private enum ConnectionState {
        case idle
        case connecting(EventLoopFuture<any Channel>)
        case connected(any Channel)
        case waitingToReconnect(Scheduled<Void>)
    }

    private struct State {
        var connection = ConnectionState.idle
        var subscriptions: [Int: Subscription] = [:]
        var nextID = 0
        var consecutiveFailures = 0
        var isShutdown = false
    }

    private func addSubscription(
        channels: [String], patterns: [String],
        bufferingPolicy: AsyncStream<RedisPubSubEvent>.Continuation.BufferingPolicy
    ) async throws -> AsyncStream<RedisPubSubEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: RedisPubSubEvent.self, bufferingPolicy: bufferingPolicy)
        try await eventLoop.flatSubmit {
            self.register(channels: Set(channels), patterns: Set(patterns), continuation: continuation)
        }.get()
        return stream
    }

    private func register(
        channels: Set<String>, patterns: Set<String>, continuation: AsyncStream<RedisPubSubEvent>.Continuation
    ) -> EventLoopFuture<Void> {
        guard !state.value.isShutdown else {
            continuation.finish()
            return eventLoop.makeFailedFuture(RedisError.shutdown)
        }
        let id = state.value.nextID
        state.value.nextID += 1
        state.value.subscriptions[id] = Subscription(continuation: continuation, channels: channels, patterns: patterns)
        continuation.onTermination = { [weak self] _ in
            guard let self else { return }
            self.eventLoop.execute { self.unregister(id) }
        }
        return connection()
            .flatMap { channel in
                // The stream may have ended while connecting; then there is nothing to subscribe.
                guard self.state.value.subscriptions[id] != nil else { return self.eventLoop.makeSucceededVoidFuture() }
                // Channels other streams already hold are sent again; Redis just confirms them twice.
                return self.send(Self.subscribeCommands(channels: channels, patterns: patterns), on: channel)
            }
            .flatMapErrorThrowing { error in
                self.unregister(id)
                continuation.finish()
                throw error
            }
    }

    /// Drops a subscription and unsubscribes whatever no remaining subscription needs.
    private func unregister(_ id: Int) {
        guard let removed = state.value.subscriptions.removeValue(forKey: id) else { return }
        var channels = removed.channels
        var patterns = removed.patterns
        for other in state.value.subscriptions.values {
            channels.subtract(other.channels)
            patterns.subtract(other.patterns)
        }
        guard case .connected(let channel) = state.value.connection else { return }
        var commands: [[String]] = []
        if !channels.isEmpty { commands.append(["UNSUBSCRIBE"] + channels.sorted()) }
        if !patterns.isEmpty { commands.append(["PUNSUBSCRIBE"] + patterns.sorted()) }
        guard !commands.isEmpty else { return }
        send(commands, on: channel).whenFailure { [logger] error in
            logger.debug("Redis unsubscribe failed", metadata: ["error": "\(error)"])
        }
    }

    private func connection() -> EventLoopFuture<any Channel> {
        switch state.value.connection {
        case .connected(let channel): eventLoop.makeSucceededFuture(channel)
        case .connecting(let attempt): attempt
        case .idle, .waitingToReconnect: startConnecting()
        }
    }

    private func startConnecting() -> EventLoopFuture<any Channel> {
        if case .waitingToReconnect(let retry) = state.value.connection { retry.cancel() }
        let attempt = RedisConnection.makeConnection(configuration: configuration, eventLoop: eventLoop, logger: logger)
            .flatMapThrowing { connection in try self.enterSubscribedMode(connection) }
        state.value.connection = .connecting(attempt)
        // Registered before any caller's callbacks, so the state is updated before they run.
        attempt.whenComplete { result in self.attemptFinished(result) }
        return attempt
    }

    /// Swaps the request/reply handler for one that understands pushed messages.
    private func enterSubscribedMode(_ connection: RedisConnection) throws -> any Channel {
        let pipeline = connection.channel.pipeline.syncOperations
        pipeline.removeHandler(try pipeline.handler(type: RedisCommandHandler.self), promise: nil)
        try pipeline.addHandler(
            RedisPubSubHandler(commandTimeout: TimeAmount(configuration.commandTimeout), logger: logger) {
                [weak self] message in self?.deliver(message)
            })
        return connection.channel
    }

    private func attemptFinished(_ result: Result<any Channel, any Error>) {
        switch result {
        case .success(let channel):
            guard !state.value.isShutdown else {
                channel.close(promise: nil)
                return
            }
            if state.value.consecutiveFailures > 0 {
                logger.info("Redis subscriber connection restored")
            }
            state.value.connection = .connected(channel)
            state.value.consecutiveFailures = 0
            channel.closeFuture.whenComplete { [weak self] _ in self?.connectionLost(channel) }
            startHealthCheck(on: channel)
            restoreSubscriptions(on: channel)

        case .failure(let error):
            state.value.consecutiveFailures += 1
            let failures = state.value.consecutiveFailures
            logger.log(
                level: failures == 1 ? .warning : .debug, "Redis subscriber cannot connect",
                metadata: ["error": "\(error)"])
            // Without subscriptions nobody needs the connection; the next subscribe connects again.
            guard !state.value.isShutdown, !state.value.subscriptions.isEmpty else {
                state.value.connection = .idle
                return
            }
            let delay = configuration.reconnectDelay(afterFailures: failures)
            let retry = eventLoop.scheduleTask(in: TimeAmount(delay)) { [weak self] in
                guard let self, case .waitingToReconnect = self.state.value.connection else { return }
                // The subscription that wanted this connection may have given up meanwhile.
                guard !self.state.value.subscriptions.isEmpty else {
                    self.state.value.connection = .idle
                    return
                }
                _ = self.startConnecting()
            }
            state.value.connection = .waitingToReconnect(retry)
        }
    }

    private func connectionLost(_ channel: any Channel) {
        guard case .connected(let current) = state.value.connection, current === channel else { return }
        state.value.connection = .idle
        guard !state.value.isShutdown, !state.value.subscriptions.isEmpty else { return }
        logger.warning("Redis subscriber connection lost; reconnecting")
        for id in state.value.subscriptions.keys {
            state.value.subscriptions[id]?.interrupted = true
        }
        _ = startConnecting()
    }

    /// Re-subscribes everything after a reconnect, then tells interrupted streams they may have missed messages.
    private func restoreSubscriptions(on channel: any Channel) {
        let subscriptions = state.value.subscriptions
        guard !subscriptions.isEmpty else { return }
        let channels = subscriptions.values.reduce(into: Set<String>()) { $0.formUnion($1.channels) }
        let patterns = subscriptions.values.reduce(into: Set<String>()) { $0.formUnion($1.patterns) }
        send(Self.subscribeCommands(channels: channels, patterns: patterns), on: channel).whenComplete { result in
            switch result {
            case .success:
                for (id, subscription) in self.state.value.subscriptions where subscription.interrupted {
                    self.state.value.subscriptions[id]?.interrupted = false
                    subscription.continuation.yield(.reconnected)
                }
            case .failure(let error):
                // A lost connection retries by itself; a refusal (e.g. ACL) needs an operator.
                self.logger.error("Redis subscriber could not restore subscriptions", metadata: ["error": "\(error)"])
            }
        }
    }

    private func startHealthCheck(on channel: any Channel) {
        let interval = TimeAmount(healthCheckInterval)
        eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] task in
            guard let self, case .connected(let current) = self.state.value.connection, current === channel else {
                task.cancel()
                return
            }
            // A missing pong closes the connection (command timeout), which triggers a reconnect.
            _ = self.send([], on: channel)
        }
    }

    private func deliver(_ message: RedisPubSubMessage) {
        for subscription in state.value.subscriptions.values {
            let wanted = message.pattern.map(subscription.patterns.contains) ?? subscription.channels.contains(message.channel)
            if wanted {
                subscription.continuation.yield(.message(message))
            }
        }
    }

    /// Writes `commands` followed by `PING`; the future completes when the pong arrives.
    private func send(_ commands: [[String]], on channel: any Channel) -> EventLoopFuture<Void> {
        var encoded = channel.allocator.buffer(capacity: 64)
        for command in commands + [["PING"]] {
            RESPEncoder.encodeCommand(command, into: &encoded)
        }
        let done = eventLoop.makePromise(of: Void.self)
        channel.writeAndFlush(RedisPubSubRequest(encoded: encoded, done: done)).whenFailure { _ in
            done.fail(RedisError.connectionClosed)
        }
        return done.futureResult
    }

    private func shutDownOnLoop() -> EventLoopFuture<(any Channel)?> {
        state.value.isShutdown = true
        let subscriptions = state.value.subscriptions
        state.value.subscriptions = [:]
        let connection = state.value.connection
        state.value.connection = .idle
        for subscription in subscriptions.values {
            subscription.continuation.finish()
        }
        switch connection {
        case .idle:
            return eventLoop.makeSucceededFuture(nil)
        case .waitingToReconnect(let retry):
            retry.cancel()
            return eventLoop.makeSucceededFuture(nil)
        case .connected(let channel):
            return eventLoop.makeSucceededFuture(channel)
        case .connecting(let attempt):
            // The attempt closes itself on completion (the subscriber is shut down); wait for that.
            return attempt.map { Optional($0) }.recover { _ in nil }
        }
    }

    private static func subscribeCommands(channels: Set<String>, patterns: Set<String>) -> [[String]] {
        var commands: [[String]] = []
        if !channels.isEmpty { commands.append(["SUBSCRIBE"] + channels.sorted()) }
        if !patterns.isEmpty { commands.append(["PSUBSCRIBE"] + patterns.sorted()) }
        return commands
    }
}
