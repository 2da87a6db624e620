import NIOCore
import NIOPosix

/// A minimal `GET <url>/v1/health` over plain HTTP/1.1, true only for a 200 within
/// the timeout. The boot gate and `/health` use it until the memory plugin client
/// takes over this job.
public enum PluginHealthProbe {
    /// Whether the memory plugin at `baseURL` (e.g. `http://127.0.0.1:9100`) answers healthy.
    public static func isHealthy(baseURL: String, timeout: Duration = .milliseconds(500)) async -> Bool {
        guard let (host, port) = parse(baseURL) else { return false }
        return (try? await fetchStatus(host: host, port: port, timeout: timeout)) == 200
    }

    static func parse(_ url: String) -> (String, Int)? {
        guard url.hasPrefix("http://") else { return nil }
        let authority = url.dropFirst(7).prefix { $0 != "/" }
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            let host = String(authority[authority.index(after: authority.startIndex)..<close])
            let rest = authority[authority.index(after: close)...]
            return (host, rest.hasPrefix(":") ? Int(rest.dropFirst()) ?? 80 : 80)
        }
        let parts = authority.split(separator: ":", maxSplits: 1)
        guard let host = parts.first, !host.isEmpty else { return nil }
        return (String(host), parts.count == 2 ? Int(parts[1]) ?? 80 : 80)
    }

    /// The connect timeout bounds connecting; a scheduled close bounds the answer,
    /// which completes the promise through `channelInactive`.
    static func fetchStatus(host: String, port: Int, timeout: Duration) async throws -> Int {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = loop.makePromise(of: Int.self)
        let milliseconds = max(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000, 1)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(.milliseconds(milliseconds))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(StatusLineReader(promise: promise)) }
                }
                .connect(host: host, port: port).get()
        } catch {
            promise.fail(error)
            throw error
        }
        let deadline = loop.scheduleTask(in: .milliseconds(milliseconds)) { channel.close(promise: nil) }
        defer {
            deadline.cancel()
            channel.close(promise: nil)
        }
        let request = "GET /v1/health HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n\r\n"
        channel.writeAndFlush(ByteBuffer(string: request), promise: nil)
        return try await promise.futureResult.get()
    }

    /// Reads bytes until the status line is complete and fulfils the promise with its code.
    final class StatusLineReader: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        let promise: EventLoopPromise<Int>
        var received = ""
        var done = false

        init(promise: EventLoopPromise<Int>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            received += buffer.readString(length: buffer.readableBytes) ?? ""
            guard !done, let lineEnd = received.firstRange(of: "\r\n") else { return }
            done = true
            let parts = received[..<lineEnd.lowerBound].split(separator: " ")
            promise.succeed(parts.count >= 2 ? Int(parts[1]) ?? 0 : 0)
        }

        func channelInactive(context: ChannelHandlerContext) {
            if !done { done = true; promise.succeed(0) }
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            if !done { done = true; promise.fail(error) }
            context.close(promise: nil)
        }
    }
}
