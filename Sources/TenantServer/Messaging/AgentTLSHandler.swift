import NIOCore
import TLSClient

/// TLS for an agent connection: the first handler of the pipeline, turning the HTTP
/// client's plaintext into records and the agent's records back into plaintext through
/// a `TLSSession` (OpenSSL over memory buffers, driven on the channel's event loop).
/// Writes made before the handshake completes wait for it. A failed handshake (an
/// untrusted certificate, a name mismatch) is raised as a `TLSFailure` and closes the
/// connection, so the response handler can report it.
final class AgentTLSHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let session: TLSSession
    private var established = false
    private var failed = false
    private var waiting: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var flushWaiting = false

    init(session: TLSSession) {
        self.session = session
    }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        advanceHandshake(context)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { session.receive($0) }
        if !established { advanceHandshake(context) }
        if established { deliverPlaintext(context) }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard !failed else {
            promise?.fail(TLSFailure("the TLS connection already failed"))
            return
        }
        let buffer = unwrapOutboundIn(data)
        if established {
            encrypt(buffer, promise: promise, context)
        } else {
            waiting.append((buffer, promise))
        }
    }

    func flush(context: ChannelHandlerContext) {
        if established { context.flush() } else { flushWaiting = true }
    }

    private func advanceHandshake(_ context: ChannelHandlerContext) {
        let done: Bool
        do {
            done = try session.handshake()
        } catch {
            sendOutput(context)  // the alert that tells the agent why
            fail(context, error)
            return
        }
        sendOutput(context)
        guard done else { return }
        established = true
        let queued = waiting
        waiting = []
        for (buffer, promise) in queued { encrypt(buffer, promise: promise, context) }
        if flushWaiting { context.flush() }
    }

    private func deliverPlaintext(_ context: ChannelHandlerContext) {
        do {
            while let plaintext = try session.decrypt() {
                context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: plaintext)))
            }
        } catch {
            fail(context, error)
            return
        }
        sendOutput(context)
    }

    private func encrypt(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?, _ context: ChannelHandlerContext) {
        do {
            try buffer.withUnsafeReadableBytes { try session.encrypt($0) }
        } catch {
            let failure = error as? TLSFailure ?? TLSFailure("\(error)")
            promise?.fail(failure)
            fail(context, failure)
            return
        }
        context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: session.takeOutput())), promise: promise)
    }

    private func sendOutput(_ context: ChannelHandlerContext) {
        let output = session.takeOutput()
        guard !output.isEmpty else { return }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: output)), promise: nil)
    }

    private func fail(_ context: ChannelHandlerContext, _ error: TLSFailure) {
        guard !failed else { return }
        failed = true
        for (_, promise) in waiting { promise?.fail(error) }
        waiting = []
        context.fireErrorCaught(error)
        context.close(promise: nil)
    }
}
