import HTTPTypes
import Hummingbird
import HummingbirdWebSocket
import Logging
import ServiceLifecycle
import TenantCrypto

/// `GET /ws`: live events over a WebSocket, as reference frames
/// (`{"event", "workspace_id", "timestamp", "payload"}`). Agents connect with their bearer
/// token and `X-Workspace-ID` and see the events of workspaces they may communicate
/// with; operators connect with ADMIN_TOKEN or an org token and see everything. Nobody
/// connects without a credential. Browsers, which cannot set headers on a WebSocket,
/// may send the token as the subprotocol `molecule-auth.<hex of the token>`.
///
/// A refused upgrade falls through to the HTTP router, where `GET /ws` answers the same
/// check's JSON error (or 426 for a valid caller that did not ask for a WebSocket).
struct EventSocketRoutes: Sendable {
    let dependencies: ServerDependencies

    enum Viewer: Sendable, Equatable {
        case agent(String)
        case operator_
    }

    static let authProtocolPrefix = "molecule-auth."
    static let protocolSentinel = "molecule-ws"

    /// The router the upgrade channel consults before switching protocols.
    func webSocketRouter() -> Router<BasicWebSocketRequestContext> {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.ws("/ws") { request, _ in
            _ = try await viewer(request)
            var headers = HTTPFields()
            if Self.offeredProtocols(request).contains(Self.protocolSentinel) {
                headers[.secWebSocketProtocol] = Self.protocolSentinel
            }
            return .upgrade(headers)
        } onUpgrade: { inbound, outbound, context in
            let viewer = try await viewer(context.request)
            try await stream(to: outbound, inbound: inbound, viewer: viewer, logger: context.logger)
        }
        return router
    }

    /// The HTTP side of `/ws`: only reached when no upgrade happened.
    func register(on router: Router<TenantRequestContext>) {
        router.get("/ws") { request, _ -> Response in
            _ = try await viewer(request)
            throw APIError(.upgradeRequired, code: "upgrade_required", "GET /ws needs a WebSocket upgrade")
        }
    }

    func viewer(_ request: Request) async throws -> Viewer {
        let token = try Self.token(request)
        if let claimed = request.header(DiscoveryRoutes.callerHeader) {
            guard UUIDText.isValid(claimed) else { throw APIError.badRequest("X-Workspace-ID must be a workspace UUID") }
            guard let token else { throw APIError.unauthorized("missing workspace auth token") }
            guard try await dependencies.tokens.workspace(owning: token) == claimed.lowercased() else {
                throw APIError.unauthorized("invalid workspace auth token")
            }
            return .agent(claimed.lowercased())
        }
        guard let token else { throw APIError.unauthorized("auth required: an admin or org token, or a workspace token with X-Workspace-ID") }
        guard try await dependencies.authenticator.isAdmin(token) else { throw APIError.unauthorized("invalid auth token") }
        return .operator_
    }

    /// Sends every visible event until the client goes, falls behind, or the server stops.
    private func stream(to outbound: WebSocketOutboundWriter, inbound: WebSocketInboundStream, viewer: Viewer, logger: Logger) async throws {
        let bus = dependencies.events
        let subscription = bus.subscribe(workspaceID: nil)
        let visibility = PeerVisibility(directory: PeerDirectory(pool: dependencies.pool), viewer: viewer)
        try await withGracefulShutdownHandler {
            try await withThrowingTaskGroup(of: Void.self) { group in
                // Reading keeps control frames flowing and tells us when the client leaves.
                group.addTask {
                    for try await _ in inbound {}
                    bus.unsubscribe(subscription.id)
                }
                group.addTask {
                    for await delivery in subscription.stream {
                        guard case .frame(let frame) = delivery, await visibility.allows(frame.workspaceID) else { continue }
                        try await outbound.write(.text(String(decoding: try JSONResponse.encoder.encodeBytes(frame), as: UTF8.self)))
                    }
                }
                try await group.next()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            bus.unsubscribe(subscription.id)
        }
        bus.unsubscribe(subscription.id)
    }

    /// The bearer from `Authorization` or the `molecule-auth.` subprotocol; both given must agree.
    static func token(_ request: Request) throws -> String? {
        let header = BearerToken.from(request)
        var fromProtocol: String?
        for offered in offeredProtocols(request) where offered.hasPrefix(authProtocolPrefix) {
            let encoded = String(offered.dropFirst(authProtocolPrefix.count))
            guard fromProtocol == nil, encoded.count <= 8192, let bytes = Hex.decode(encoded), !bytes.isEmpty else {
                throw APIError.unauthorized("invalid WebSocket credential")
            }
            fromProtocol = String(decoding: bytes, as: UTF8.self)
        }
        if let header, let fromProtocol, !constantTimeEquals(Array(header.utf8), Array(fromProtocol.utf8)) {
            throw APIError.unauthorized("invalid WebSocket credential")
        }
        return header ?? fromProtocol
    }

    static func offeredProtocols(_ request: Request) -> [String] {
        request.headers[values: .secWebSocketProtocol].flatMap { $0.split(separator: ",").map { $0.trimmed(of: " \t") } }
    }
}

/// Which workspaces' events an agent's socket may carry (CanCommunicate), cached for a
/// short while so a busy event stream does not query the database per frame.
actor PeerVisibility {
    let directory: PeerDirectory
    let viewer: EventSocketRoutes.Viewer
    private var cache: [String: Bool] = [:]
    private var cachedAt = ContinuousClock.now

    init(directory: PeerDirectory, viewer: EventSocketRoutes.Viewer) {
        self.directory = directory
        self.viewer = viewer
    }

    func allows(_ workspaceID: String) async -> Bool {
        guard case .agent(let self_) = viewer else { return true }
        if ContinuousClock.now - cachedAt > .seconds(30) {
            cache.removeAll()
            cachedAt = .now
        }
        if let known = cache[workspaceID] { return known }
        let allowed = (try? await directory.canCommunicate(self_, workspaceID)) ?? false
        cache[workspaceID] = allowed
        return allowed
    }
}
