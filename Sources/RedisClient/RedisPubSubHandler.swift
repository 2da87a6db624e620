import Logging
import NIOCore

/// (P)SUBSCRIBE/UNSUBSCRIBE commands on their way to the server, followed by a `PING` whose
/// reply completes `done`: replies come in order, so the pong proves every confirmation before it
/// has arrived, without counting per-channel confirmations.
struct RedisPubSubRequest: Sendable {
    var encoded: ByteBuffer
    var done: EventLoopPromise<Void>
}

/// Handles a connection in subscribed mode, where the server pushes messages at any time and
/// replies no longer pair up with commands one to one.
final class RedisPubSubHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = RESPValue
    typealias OutboundIn = RedisPubSubRequest
    typealias OutboundOut = ByteBuffer

    private struct Waiter {
        let promise: EventLoopPromise<Void>
        let deadline: NIODeadline
        /// The first error reply seen before this waiter's pong, e.g. an ACL refusal.
        var error: RedisError?
    }

    private var waiters = CircularBuffer<Waiter>()
    private var timeoutCheck: Scheduled<Void>?
    private let onMessage: (RedisPubSubMessage) -> Void
    private let commandTimeout: TimeAmount
    private let logger: Logger

    init(commandTimeout: TimeAmount, logger: Logger, onMessage: @escaping (RedisPubSubMessage) -> Void) {
        self.commandTimeout = commandTimeout
        self.logger = logger
        self.onMessage = onMessage
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        waiters.append(Waiter(promise: request.done, deadline: .now() + commandTimeout))
        scheduleTimeoutCheck(context: context)
        context.write(wrapOutboundOut(request.encoded), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .array(let items):
            guard let kind = items.first?.string else { return }
            switch (kind, items.count) {
            case ("message", 3):
                guard let channel = items[1].string, case .bulkString(let payload) = items[2] else { return }
                onMessage(RedisPubSubMessage(channel: channel, pattern: nil, payload: payload))
            case ("pmessage", 4):
                guard let pattern = items[1].string, let channel = items[2].string,
                    case .bulkString(let payload) = items[3]
                else { return }
                onMessage(RedisPubSubMessage(channel: channel, pattern: pattern, payload: payload))
            case ("pong", _):
                completeOldestWaiter()
            default:
                break  // subscribe/unsubscribe confirmations: the pong that follows covers them
            }
        case .simpleString("PONG"):
            // PING answers this way when the connection holds no subscription at all.
            completeOldestWaiter()
        case .error(let message):
            if !waiters.isEmpty, waiters[waiters.startIndex].error == nil {
                waiters[waiters.startIndex].error = .server(message)
            }
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        logger.debug("Redis subscriber connection error", metadata: ["error": "\(error)"])
        failAll(with: (error as? RedisError) ?? .connectionClosed)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(with: .connectionClosed)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        failAll(with: .connectionClosed)
    }

    private func completeOldestWaiter() {
        guard let waiter = waiters.popFirst() else { return }
        if let error = waiter.error {
            waiter.promise.fail(error)
        } else {
            waiter.promise.succeed()
        }
    }

    private func failAll(with error: RedisError) {
        timeoutCheck?.cancel()
        timeoutCheck = nil
        while let waiter = waiters.popFirst() {
            waiter.promise.fail(error)
        }
    }

    /// One timer for the oldest waiter, as in `RedisCommandHandler`.
    private func scheduleTimeoutCheck(context: ChannelHandlerContext) {
        guard timeoutCheck == nil, let oldest = waiters.first else { return }
        timeoutCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: oldest.deadline) {
            self.timeoutCheck = nil
            guard let oldest = self.waiters.first else { return }
            guard oldest.deadline <= .now() else {
                self.scheduleTimeoutCheck(context: context)
                return
            }
            self.logger.warning("Redis subscriber did not answer in time; reconnecting")
            let timedOut = self.waiters.removeFirst()
            self.failAll(with: .connectionClosed)
            context.close(promise: nil)
            timedOut.promise.fail(RedisError.timeout)
        }
    }
}
