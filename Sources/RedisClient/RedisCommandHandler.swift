import Logging
import NIOCore

/// Encoded commands on their way to the server, with one promise per reply they will produce.
struct RedisRequest: Sendable {
    var encoded: ByteBuffer
    var replies: [EventLoopPromise<RESPValue>]
}

/// Outbound user event: close the channel once every reply in flight has arrived.
struct RedisGracefulCloseEvent: Sendable {}

/// Matches replies to commands in FIFO order, which is all RESP2 guarantees and all pipelining needs.
///
/// Lives on the channel's event loop; every member is touched only from there.
final class RedisCommandHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private struct Pending {
        let promise: EventLoopPromise<RESPValue>
        let deadline: NIODeadline
    }

    private enum State {
        case open
        /// Refuses new commands and closes after the last reply in flight.
        case draining
        case closed
    }

    private var pending = CircularBuffer<Pending>(initialCapacity: 16)
    private var state = State.open
    private var timeoutCheck: Scheduled<Void>?
    private let commandTimeout: TimeAmount
    private let logger: Logger

    init(commandTimeout: TimeAmount, logger: Logger) {
        self.commandTimeout = commandTimeout
        self.logger = logger
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard case .open = state else {
            request.replies.forEach { $0.fail(RedisError.connectionClosed) }
            promise?.fail(RedisError.connectionClosed)
            return
        }
        let deadline = NIODeadline.now() + commandTimeout
        for reply in request.replies {
            pending.append(Pending(promise: reply, deadline: deadline))
        }
        scheduleTimeoutCheck(context: context)
        context.write(wrapOutboundOut(request.encoded), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let value = unwrapInboundIn(data)
        guard let head = pending.popFirst() else {
            // A reply nobody asked for means the stream can no longer be matched to commands.
            fail(context: context, with: .protocolError("reply received while no command was waiting"))
            return
        }
        head.promise.succeed(value)
        if case .draining = state, pending.isEmpty {
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let redisError = error as? RedisError {
            logger.warning("Redis connection failed", metadata: ["error": "\(redisError)"])
            fail(context: context, with: redisError)
        } else {
            logger.debug("Redis connection I/O error", metadata: ["error": "\(error)"])
            fail(context: context, with: .connectionClosed)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAllPending(with: .connectionClosed)
        state = .closed
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAllPending(with: .connectionClosed)
        state = .closed
    }

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard event is RedisGracefulCloseEvent else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        switch state {
        case .open where pending.isEmpty:
            state = .closed
            context.close(promise: nil)
        case .open:
            state = .draining
        case .draining, .closed:
            break
        }
        promise?.succeed()
    }

    /// Fails everything in flight and closes the channel.
    private func fail(context: ChannelHandlerContext, with error: RedisError) {
        state = .closed
        failAllPending(with: error)
        context.close(promise: nil)
    }

    private func failAllPending(with error: RedisError) {
        timeoutCheck?.cancel()
        timeoutCheck = nil
        while let entry = pending.popFirst() {
            entry.promise.fail(error)
        }
    }

    /// Keeps one timer armed for the oldest command; replies arrive in order, so if the oldest
    /// one is on time, every younger one is too. This avoids a timer per command.
    private func scheduleTimeoutCheck(context: ChannelHandlerContext) {
        guard timeoutCheck == nil, let oldest = pending.first else { return }
        timeoutCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: oldest.deadline) {
            self.timeoutCheck = nil
            self.checkTimeout(context: context)
        }
    }

    private func checkTimeout(context: ChannelHandlerContext) {
        guard let oldest = pending.first else { return }
        guard oldest.deadline <= .now() else {
            scheduleTimeoutCheck(context: context)
            return
        }
        logger.warning("Redis command timed out; closing the connection")
        let timedOut = pending.removeFirst()
        // The late reply would be matched to the next command, and a server this slow is
        // better reconnected; the remaining commands fail as the connection closes. Closing
        // before failing the caller means a retry cannot land on this connection.
        fail(context: context, with: .connectionClosed)
        timedOut.promise.fail(RedisError.timeout)
    }
}
