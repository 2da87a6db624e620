import Logging
import NIOCore
import NIOPosix

/// One TCP connection to Redis.
///
/// Commands are pipelined: any number may be in flight at once, and replies are matched to them in
/// order. Most code should use `RedisClient`, which pools connections and reconnects; this type is
/// for callers that need one specific connection.
public final class RedisConnection: Sendable {
    let channel: any Channel
    private let logger: Logger

    /// The event loop this connection's I/O runs on.
    public var eventLoop: any EventLoop { channel.eventLoop }

    /// `false` once the connection has closed, for whatever reason.
    public var isActive: Bool { channel.isActive }

    /// Completes when the connection has closed.
    var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    private init(channel: any Channel, logger: Logger) {
        self.channel = channel
        self.logger = logger
    }

    /// Opens a connection, then authenticates and selects the database as configured.
    ///
    /// - Throws: `RedisError.unavailable` when the server cannot be reached in
    ///   `configuration.connectTimeout`, `RedisError.authenticationFailed` when `AUTH` is refused,
    ///   `RedisError.server` when `SELECT` is refused.
    public static func connect(
        configuration: RedisConfiguration,
        eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next(),
        logger: Logger = Logger(label: "RedisClient")
    ) async throws -> RedisConnection {
        try await makeConnection(configuration: configuration, eventLoop: eventLoop, logger: logger).get()
    }

    static func makeConnection(
        configuration: RedisConfiguration,
        eventLoop: any EventLoop,
        logger: Logger
    ) -> EventLoopFuture<RedisConnection> {
        let commandTimeout = TimeAmount(configuration.commandTimeout)
        let limits = configuration.parserLimits
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(TimeAmount(configuration.connectTimeout))
            // Notices a peer that vanished without closing, e.g. a host that lost power.
            .channelOption(.socketOption(.so_keepalive), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(RESPValueDecoder(limits: limits)),
                        RedisCommandHandler(commandTimeout: commandTimeout, logger: logger)
                    )
                }
            }
        return bootstrap.connect(host: configuration.host, port: configuration.port)
            .flatMapErrorThrowing { error in
                logger.debug(
                    "Redis connect failed",
                    metadata: ["redis.host": "\(configuration.host)", "redis.port": "\(configuration.port)", "error": "\(error)"])
                throw RedisError.unavailable
            }
            .flatMap { channel in
                let connection = RedisConnection(channel: channel, logger: logger)
                return connection.handshake(configuration)
                    .map { connection }
                    .flatMapError { error in
                        // A half-set-up connection must not linger.
                        channel.close().flatMapThrowing { throw error }
                    }
            }
    }

    /// Sends `AUTH` and `SELECT` in one write.
    private func handshake(_ configuration: RedisConfiguration) -> EventLoopFuture<Void> {
        var commands: [[String]] = []
        if let password = configuration.password {
            if let username = configuration.username {
                commands.append(["AUTH", username, password])
            } else {
                commands.append(["AUTH", password])
            }
        }
        if configuration.database != 0 {
            commands.append(["SELECT", String(configuration.database)])
        }
        guard !commands.isEmpty else { return eventLoop.makeSucceededVoidFuture() }

        let hasAuth = configuration.password != nil
        return write(commands.map { $0.map { ByteBuffer(string: $0) } })
            .flatMapErrorThrowing { error in
                // Timeouts and drops during the handshake mean the server is not usable right now.
                if case RedisError.protocolError = error { throw error }
                throw RedisError.unavailable
            }
            .flatMapThrowing { replies in
                for (index, reply) in replies.enumerated() {
                    guard case .error(let message) = reply else { continue }
                    if hasAuth && index == 0 { throw RedisError.authenticationFailed(message) }
                    throw RedisError.server(message)
                }
            }
    }

    /// Sends one command whose arguments are arbitrary bytes.
    ///
    /// - Returns: the reply.
    /// - Throws: `RedisError.server` for an error reply, `RedisError.connectionClosed` or
    ///   `RedisError.timeout` when no reply arrives.
    @discardableResult
    public func send(_ arguments: [ByteBuffer]) async throws -> RESPValue {
        let reply = try await write([arguments]).get()[0]
        if case .error(let message) = reply { throw RedisError.server(message) }
        return reply
    }

    /// Sends several commands in one write and returns their replies in the same order.
    ///
    /// Error replies are returned in place as `RESPValue.error`, so one failing command does not hide
    /// the results of the others.
    public func pipeline(_ commands: [[ByteBuffer]]) async throws -> [RESPValue] {
        try await write(commands).get()
    }

    /// Encodes `commands`, writes them with a single flush and collects one reply per command.
    func write(_ commands: [[ByteBuffer]]) -> EventLoopFuture<[RESPValue]> {
        guard !commands.isEmpty else { return eventLoop.makeSucceededFuture([]) }
        // Encoding happens on the caller's thread to keep the event loop free for I/O.
        var encoded = channel.allocator.buffer(
            capacity: commands.reduce(0) { $0 + RESPEncoder.encodedSize(of: $1) })
        for command in commands {
            RESPEncoder.encodeCommand(command, into: &encoded)
        }
        let replies = commands.map { _ in eventLoop.makePromise(of: RESPValue.self) }
        let allReplies = replies.count == 1
            ? replies[0].futureResult.map { [$0] }
            : EventLoopFuture.whenAllSucceed(replies.map(\.futureResult), on: eventLoop)
        if logger.logLevel <= .trace {
            // Command names only: arguments may be keys, values or credentials.
            let names = commands.map { $0.first.map { String(buffer: $0) } ?? "" }
            logger.trace("Redis send", metadata: ["redis.commands": "\(names)"])
        }
        channel.writeAndFlush(RedisRequest(encoded: encoded, replies: replies)).whenFailure { _ in
            // The handler was never reached (the channel had already closed); a promise the
            // handler already failed ignores this second completion.
            replies.forEach { $0.fail(RedisError.connectionClosed) }
        }
        return allReplies
    }

    /// Closes the connection once the replies in flight have arrived (or timed out).
    /// New commands fail with `RedisError.connectionClosed` from now on.
    public func close() async {
        let requested = eventLoop.makePromise(of: Void.self)
        channel.triggerUserOutboundEvent(RedisGracefulCloseEvent(), promise: requested)
        // Fails only if the channel is already gone, which is the goal anyway.
        _ = try? await requested.futureResult.get()
        _ = try? await channel.closeFuture.get()
    }
}
