import NIOCore
import NIOHTTP1
import NIOPosix
import TLSClient

/// One HTTP/1.1 POST to an agent over SwiftNIO (no async-http-client: it would add
/// its own dependency tree for the one call we make). The address is resolved and
/// checked by the SSRF guard once, then dialled by IP, so a DNS answer cannot change
/// between the check and the connection. `https` URLs get TLS through OpenSSL
/// (`AgentTLSHandler`), verified against `tls`'s trust store and the URL's host name.
struct AgentHTTPClient: Sendable {
    let guardrail: AgentURLGuard
    /// Trust store and settings for https agents.
    let tls: TLSClientContext
    /// The whole exchange must finish within this.
    let timeout: Duration
    /// No byte from the agent for this long ends the exchange.
    let idleTimeout: Duration
    let maxResponseBytes: Int

    struct Reply: Sendable {
        let status: Int
        let body: [UInt8]
    }

    enum Failure: Error, Sendable {
        case blocked(String)
        case unsupported(String)
        case unreachable(String)
        case timedOut
        case tooLarge(Int)
        case closedEarly
        case tls(String)
    }

    func post(_ url: String, body: [UInt8], headers: [(String, String)]) async throws(Failure) -> Reply {
        let target: AgentURL
        do {
            target = try AgentURL(url)
        } catch {
            throw .unsupported("\(error)")
        }
        let address: SocketAddress
        do {
            address = try await resolve(target)
        } catch let error as Failure {
            throw error
        } catch let error as APIError {
            throw .blocked(error.message)
        } catch {
            throw .unreachable("\(error)")
        }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = loop.makePromise(of: Reply.self)
        let deadline = NIODeadline.now() + .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000)
        let idle = TimeAmount.nanoseconds(Int64(idleTimeout.components.seconds) * 1_000_000_000 + idleTimeout.components.attoseconds / 1_000_000_000)
        let maxBytes = maxResponseBytes
        let tlsContext = target.secure ? tls : nil
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(.seconds(10))
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tlsContext {
                            let session = try TLSSession(host: target.host, context: tlsContext)
                            try channel.pipeline.syncOperations.addHandler(AgentTLSHandler(session: session))
                        }
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        try channel.pipeline.syncOperations.addHandler(
                            AgentResponseHandler(promise: promise, deadline: deadline, idle: idle, maxBytes: maxBytes))
                    }
                }
                .connect(to: address).get()
        } catch {
            promise.fail(Failure.unreachable("cannot connect to \(target.host):\(target.port)"))
            throw .unreachable("cannot connect to \(target.host):\(target.port)")
        }
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: target.path)
        head.headers.add(name: "Host", value: target.hostHeader)
        head.headers.add(name: "Content-Type", value: "application/json")
        head.headers.add(name: "Content-Length", value: "\(body.count)")
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        defer { channel.close(promise: nil) }
        do {
            return try await promise.futureResult.get()
        } catch let error as Failure {
            throw error
        } catch {
            throw .unreachable("\(error)")
        }
    }

    /// The address to dial: the guard decides, and names are resolved exactly once.
    private func resolve(_ target: AgentURL) async throws -> SocketAddress {
        try await guardrail.check(target.raw)
        let lowered = target.host.lowercased()
        if IPAddressText.isLiteral(lowered) { return try SocketAddress(ipAddress: lowered, port: target.port) }
        let addresses = try await AgentURLGuard.resolve(lowered)
        let trusted = guardrail.allowedHosts.contains(lowered) || lowered == "localhost"
        for address in addresses where trusted || AgentURLGuard.blockedReason(literal: address) == nil {
            // Prefer IPv4 for localhost: agents on this machine usually bind 127.0.0.1.
            if lowered == "localhost", IPAddressText.ipv4(address) == nil, addresses.contains(where: { IPAddressText.ipv4($0) != nil }) { continue }
            return try SocketAddress(ipAddress: address, port: target.port)
        }
        throw Failure.unreachable("\(target.host) does not resolve")
    }
}

/// The parts of an http(s) URL the client needs.
struct AgentURL: Sendable {
    let raw: String
    let secure: Bool
    let host: String
    let port: Int
    let path: String

    struct Invalid: Error, CustomStringConvertible { let description: String }

    init(_ raw: String) throws {
        self.raw = raw
        let lowered = raw.lowercased()
        let rest: Substring
        if lowered.hasPrefix("https://") {
            secure = true
            rest = raw.dropFirst(8)
        } else if lowered.hasPrefix("http://") {
            secure = false
            rest = raw.dropFirst(7)
        } else {
            throw Invalid(description: "agent url must be http or https")
        }
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        let pathPart = rest.dropFirst(authority.count)
        path = pathPart.isEmpty ? "/" : String(pathPart.prefix { $0 != "#" })
        host = try AgentURLGuard.host(of: raw)
        let afterHost: Substring
        if authority.hasPrefix("[") {
            afterHost = authority.drop { $0 != "]" }.dropFirst()
        } else {
            afterHost = authority.drop { $0 != ":" }
        }
        if afterHost.hasPrefix(":") {
            guard let value = Int(afterHost.dropFirst()), (1...65535).contains(value) else { throw Invalid(description: "agent url has a bad port") }
            port = value
        } else {
            port = secure ? 443 : 80
        }
    }

    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == (secure ? 443 : 80) ? name : "\(name):\(port)"
    }
}

/// Collects one response under a size cap, a total deadline and an idle timeout.
final class AgentResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<AgentHTTPClient.Reply>
    private let deadline: NIODeadline
    private let idle: TimeAmount
    private let maxBytes: Int
    private var status: Int?
    private var body: [UInt8] = []
    private var timer: Scheduled<Void>?
    private var done = false

    init(promise: EventLoopPromise<AgentHTTPClient.Reply>, deadline: NIODeadline, idle: TimeAmount, maxBytes: Int) {
        self.promise = promise
        self.deadline = deadline
        self.idle = idle
        self.maxBytes = maxBytes
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    /// The next timeout: whichever comes first of the idle window and the deadline.
    private func arm(_ context: ChannelHandlerContext) {
        timer?.cancel()
        let when = min(NIODeadline.now() + idle, deadline)
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: when) {
            bound.value.0.finish(.failure(AgentHTTPClient.Failure.timedOut), bound.value.1)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !done else { return }
        arm(context)
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            if let length = head.headers.first(name: "content-length").flatMap({ Int($0) }), length > maxBytes {
                finish(.failure(AgentHTTPClient.Failure.tooLarge(maxBytes)), context)
            }
        case .body(let part):
            guard body.count + part.readableBytes <= maxBytes else {
                finish(.failure(AgentHTTPClient.Failure.tooLarge(maxBytes)), context)
                return
            }
            body.append(contentsOf: part.readableBytesView)
        case .end:
            finish(.success(.init(status: status ?? 502, body: body)), context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(AgentHTTPClient.Failure.closedEarly), context)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let failure = error as? TLSFailure {
            finish(.failure(AgentHTTPClient.Failure.tls(failure.message)), context)
        } else {
            finish(.failure(AgentHTTPClient.Failure.unreachable("\(error)")), context)
        }
    }

    private func finish(_ result: Result<AgentHTTPClient.Reply, any Error>, _ context: ChannelHandlerContext) {
        guard !done else { return }
        done = true
        timer?.cancel()
        promise.completeWith(result)
        context.close(promise: nil)
    }
}
