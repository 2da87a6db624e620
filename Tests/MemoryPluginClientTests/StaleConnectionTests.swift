import Foundation
import MemoryContract
import MemoryPluginClient
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// During an upgrade's handover the old plugin closes its idle keep-alive connections, and
/// the close can reach the client only once a request is on its way. The request must
/// still get its answer: an upgrade lab run saw one commit in 14,528 fail with 503 because
/// a commit without an id could not safely be sent twice.
@Suite("Memory plugin client with stale keep-alive connections")
struct StaleConnectionTests {
    @Test func aCommitWithoutAnIdIsSentAgainWithTheSameIdOnAFreshConnection() async throws {
        let plugin = try await FirstRequestOnlyPlugin.start()
        let client = try makeClient(port: plugin.port, timeout: .seconds(30))
        defer {
            Task { await client.shutdown() }
            plugin.stop()
        }
        let first = try await client.commit(namespace: "workspace:a", write: MemoryWrite(content: "leaves an idle connection", kind: .fact, source: .agent))
        #expect(client.poolStatistics.idle == 1)

        let second = try await client.commit(namespace: "workspace:a", write: MemoryWrite(content: "meets the stale one", kind: .fact, source: .agent))

        let seen = plugin.requestIDs
        #expect(plugin.connections == 2)
        // The first commit, then the second twice (closed unanswered, then answered), both
        // times with the id the client made.
        #expect(seen.count == 3)
        #expect(seen.first == first.id)
        #expect(seen.dropFirst().allSatisfy { $0 == second.id })
        #expect(second.id.count == 36 && second.id != first.id)
        #expect(client.breaker.state == .closed)
    }

    /// A K/V set bumps the version each time it is applied, so it is never sent twice: the
    /// caller gets the failure and decides.
    @Test func aKeyValueSetIsNotSentTwice() async throws {
        let plugin = try await FirstRequestOnlyPlugin.start()
        let client = try makeClient(port: plugin.port, timeout: .seconds(30))
        defer {
            Task { await client.shutdown() }
            plugin.stop()
        }
        _ = try await client.commit(namespace: "workspace:a", write: MemoryWrite(content: "fact", kind: .fact, source: .agent))
        var set = MemoryWrite(content: "v", kind: .kv, source: .agent)
        set.key = "k"
        let error = await #expect(throws: MemoryPluginClientError.self) { try await client.commit(namespace: "workspace:a", write: set) }
        #expect(error?.contractError.status == 503)
        #expect(plugin.connections == 1)
        #expect(plugin.requestIDs.count == 2)
    }
}

/// A stand-in plugin that answers the first commit on each connection (echoing the id in
/// its body, as the plugin does) and closes the connection, unanswered, when a second
/// request arrives on it.
final class FirstRequestOnlyPlugin: Sendable {
    let port: Int
    private let channel: any Channel
    private let state: NIOLockedValueBox<(connections: Int, ids: [String?])>

    private init(channel: any Channel, state: NIOLockedValueBox<(connections: Int, ids: [String?])>) {
        self.channel = channel
        self.state = state
        port = channel.localAddress?.port ?? 0
    }

    static func start() async throws -> FirstRequestOnlyPlugin {
        let state = NIOLockedValueBox<(connections: Int, ids: [String?])>((0, []))
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                state.withLockedValue { $0.connections += 1 }
                return channel.pipeline.configureHTTPServerPipeline().flatMap {
                    channel.pipeline.addHandler(Handler(state: state))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return FirstRequestOnlyPlugin(channel: channel, state: state)
    }

    var connections: Int { state.withLockedValue { $0.connections } }
    /// The `id` of every request body received, in order (nil for a body without one).
    var requestIDs: [String?] { state.withLockedValue { $0.ids } }

    func stop() { channel.close(promise: nil) }

    private final class Handler: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let state: NIOLockedValueBox<(connections: Int, ids: [String?])>
        var answered = false
        var body = ByteBuffer()

        init(state: NIOLockedValueBox<(connections: Int, ids: [String?])>) { self.state = state }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head: body.clear()
            case .body(var part): body.writeBuffer(&part)
            case .end:
                let object = try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
                let id = object?["id"] as? String
                state.withLockedValue { $0.ids.append(id) }
                guard !answered else {
                    context.close(promise: nil)
                    return
                }
                answered = true
                let json = #"{"id":"\#(id ?? UUID().uuidString.lowercased())","namespace":"workspace:a"}"#
                var head = HTTPResponseHead(version: .http1_1, status: .created)
                head.headers.add(name: "Content-Type", value: "application/json")
                head.headers.add(name: "Content-Length", value: "\(json.utf8.count)")
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: json)))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
