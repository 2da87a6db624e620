import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOExtras
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

/// Serves a Hummingbird responder over HTTP/1.1 on a socket it can hand to a successor.
///
/// Hummingbird's own server binds an address itself and cannot adopt a descriptor, so this
/// is a small NIO `ServerBootstrap` around Hummingbird's `HTTP1Channel`. On SIGUSR2 it starts
/// a successor on the same listening socket; once the successor serves, this process stops
/// accepting, waits 100 ms for requests on just-accepted connections to arrive, quiesces (in-flight
/// requests finish, idle connections close) and returns. SIGTERM is the usual graceful stop.
public struct HandoverHTTPServer<Responder: HTTPResponder, ChildChannel: ServerChildChannel>: Service
where Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
    let responder: Responder
    /// Builds the per-connection channel around the request path: plain HTTP/1.1, or
    /// HTTP/1.1 with WebSocket upgrades.
    let makeChildChannel: @Sendable (@escaping HTTPChannelHandler.Responder) -> ChildChannel
    let host: String
    let port: Int
    let backlog: Int32
    let name: String
    let logger: Logger

    /// - Parameters:
    ///   - name: what the log calls this server ("memory plugin", "tenant server").
    ///   - backlog: the accept queue; during a handover new connections wait there.
    ///   - childChannel: the channel each connection runs, given the request path.
    public init(responder: Responder, host: String, port: Int, name: String, backlog: Int32 = 4096, logger: Logger,
                childChannel: @escaping @Sendable (@escaping HTTPChannelHandler.Responder) -> ChildChannel) {
        self.responder = responder
        self.makeChildChannel = childChannel
        self.host = host
        self.port = port
        self.backlog = backlog
        self.name = name
        self.logger = logger
    }

    public func run() async throws {
        let listening = try ListeningSocket.acquire(host: host, port: port, backlog: backlog)
        let quiescing = ServerQuiescingHelper(group: MultiThreadedEventLoopGroup.singleton)
        let http = makeChildChannel(respond)
        let logger = self.logger
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.backlog, value: backlog)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .bind(NIOBSDSocket.Handle(listening.descriptor)) { channel in http.setup(channel: channel, logger: logger) }
        // NIO listens again with its default backlog (128) when it adopts a socket; restore ours.
        listen(listening.descriptor, backlog)

        logger.notice("\(name) listening", metadata: ["address": "\(listening.localAddress)", "socket": "\(listening.origin)"])
        writePIDFile()
        Readiness.announce()
        SystemdNotify.send("READY=1\nMAINPID=\(getpid())")

        let handovers = Task { await handOverOnSignal(listening, server: server.channel, quiescing: quiescing) }
        defer { handovers.cancel() }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                do {
                    try await server.executeThenClose { inbound in
                        for try await child in inbound {
                            // The connection's handler runs on the connection's own event loop.
                            group.addTask(executorPreference: EventLoopTaskExecutor.of(child.channel.eventLoop)) {
                                await http.handle(value: child, logger: logger)
                            }
                        }
                    }
                } catch {
                    logger.error("\(name): accepting stopped", metadata: ["error": "\(error)"])
                }
            }
        } onGracefulShutdown: {
            quiescing.initiateShutdown(promise: nil)
        }
        handovers.cancel()
        await handovers.value
    }

    /// Hummingbird's request path: a context per request, the router, a 500 for errors it does not map.
    @Sendable private func respond(_ request: Request, _ writer: consuming ResponseWriter, _ channel: any Channel) async throws {
        let context = Responder.Context(source: .init(channel: channel, logger: logger))
        let response: Response
        do {
            response = try await responder.respond(to: request, context: context)
        } catch let error as HTTPParserError {
            throw error
        } catch {
            response = Response(status: .internalServerError)
        }
        try await writer.write(response: response.head, body: response.body)
    }

    /// Waits for SIGUSR2; each one tries a handover until one succeeds.
    private func handOverOnSignal(_ listening: ListeningSocket, server: any Channel, quiescing: ServerQuiescingHelper) async {
        let signals = await UnixSignalsSequence(trapping: .sigusr2)
        let seconds = HandoverEnvironment.read(HandoverEnvironment.timeout).flatMap { Int64($0) } ?? 90
        var refusals = 0
        for await _ in signals {
            if Task.isCancelled { return }
            logger.notice("\(name): handing the socket over (SIGUSR2)")
            let successor: pid_t
            switch await Successor.start(listening: listening, timeout: .seconds(seconds), logger: logger) {
            case .ready(let pid): successor = pid
            case .refused(let reason):
                refusals += 1
                HandoverRefusal.record("attempt \(refusals): \(reason)", logger: logger)
                continue
            }
            // systemd follows the successor from here on (needs NotifyAccess=main or all).
            SystemdNotify.send("MAINPID=\(successor)")
            logger.notice("\(name): successor serves; draining", metadata: ["successor": "\(successor)"])
            try? await server.setOption(ChannelOptions.autoRead, value: false).get()
            try? await Task.sleep(for: .milliseconds(100))
            quiescing.initiateShutdown(promise: nil)
            return
        }
    }

    private func writePIDFile() {
        guard let path = HandoverEnvironment.read(HandoverEnvironment.pidFile), !path.isEmpty else { return }
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            logger.warning("cannot write the pid file", metadata: ["path": "\(path)"])
            return
        }
        let text = Array("\(getpid())\n".utf8)
        _ = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        rename(temporary, path)
    }
}

extension HandoverHTTPServer where ChildChannel == HTTP1Channel {
    /// Plain HTTP/1.1.
    public init(responder: Responder, host: String, port: Int, name: String, backlog: Int32 = 4096,
                idleTimeout: TimeAmount? = nil, logger: Logger) {
        self.init(responder: responder, host: host, port: port, name: name, backlog: backlog, logger: logger) { respond in
            HTTP1Channel(responder: respond, configuration: .init(idleTimeout: idleTimeout))
        }
    }
}
