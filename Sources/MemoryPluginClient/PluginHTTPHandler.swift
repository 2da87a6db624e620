import NIOCore
import NIOHTTP1

/// One HTTP/1.1 exchange to send on a connection: the request and where its answer goes.
struct PluginHTTPRequest: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
    var deadline: NIODeadline
    var response: EventLoopPromise<PluginHTTPResponse>
}

/// A complete answer.
struct PluginHTTPResponse: Sendable {
    var status: Int
    var keepAlive: Bool
    var body: ByteBuffer
}

/// Transport-level failures, mapped to `MemoryPluginClientError` by the client.
enum PluginTransportError: Error, Sendable {
    case connectFailed(String)
    case timedOut
    /// The peer closed the connection; `beforeResponse` is true when not one byte of the
    /// answer arrived, so the request was most likely never processed.
    case closed(beforeResponse: Bool)
    case tooLarge(Int)
    case busy
    /// Every pooled connection stayed busy until the deadline: congestion on our side.
    case noConnectionInTime
    case poolShutDown
    /// A socket error; `beforeResponse` as for `closed`.
    case io(String, beforeResponse: Bool)

    var beforeResponse: Bool {
        switch self {
        case .closed(let before), .io(_, let before): before
        case .connectFailed, .busy, .noConnectionInTime, .poolShutDown: true
        case .timedOut, .tooLarge: false
        }
    }
}

/// Sends one request at a time and collects its answer, with a deadline and a body cap.
/// A connection that timed out or overflowed is closed: a late answer must never be read
/// as the answer to the next request.
final class PluginHTTPHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = PluginHTTPRequest
    typealias OutboundOut = HTTPClientRequestPart

    private let maxBodyBytes: Int
    private var pending: EventLoopPromise<PluginHTTPResponse>?
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?
    private var timeout: Scheduled<Void>?

    init(maxBodyBytes: Int) {
        self.maxBodyBytes = maxBodyBytes
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard pending == nil else {
            request.response.fail(PluginTransportError.busy)
            promise?.fail(PluginTransportError.busy)
            return
        }
        pending = request.response
        head = nil
        body = nil
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let boundContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(deadline: request.deadline) {
            handler.value.fail(PluginTransportError.timedOut, context: boundContext.value)
        }
        context.write(wrapOutboundOut(.head(request.head)), promise: nil)
        if let body = request.body, body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard pending != nil else {
            // Bytes nobody asked for: the connection is out of step; drop it.
            context.close(promise: nil)
            return
        }
        switch unwrapInboundIn(data) {
        case .head(let responseHead):
            head = responseHead
            if let length = responseHead.headers.first(name: "content-length").flatMap({ Int($0) }), length > maxBodyBytes {
                fail(PluginTransportError.tooLarge(maxBodyBytes), context: context)
            }
        case .body(var part):
            if (body?.readableBytes ?? 0) + part.readableBytes > maxBodyBytes {
                fail(PluginTransportError.tooLarge(maxBodyBytes), context: context)
                return
            }
            if body == nil { body = part } else { body!.writeBuffer(&part) }
        case .end:
            guard let promise = pending, let responseHead = head else { return }
            pending = nil
            timeout?.cancel()
            timeout = nil
            let response = PluginHTTPResponse(
                status: Int(responseHead.status.code), keepAlive: responseHead.isKeepAlive,
                body: body ?? context.channel.allocator.buffer(capacity: 0))
            head = nil
            body = nil
            promise.succeed(response)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(PluginTransportError.closed(beforeResponse: head == nil), context: context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(PluginTransportError.io("\(error)", beforeResponse: head == nil), context: context)
    }

    /// Fails the exchange in flight (if any) and closes the connection.
    private func fail(_ error: PluginTransportError, context: ChannelHandlerContext) {
        timeout?.cancel()
        timeout = nil
        if let promise = pending {
            pending = nil
            promise.fail(error)
        }
        if context.channel.isActive { context.close(promise: nil) }
    }
}
