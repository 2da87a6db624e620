import Hummingbird

/// Peer discovery: where to reach a workspace, and the list of a workspace's peers.
/// The caller is bound to its bearer token; the hierarchy decides the rest.
struct DiscoveryRoutes: Sendable {
    let dependencies: ServerDependencies
    let directory: PeerDirectory
    static let callerHeader = "X-Workspace-ID"

    func register(on router: Router<TenantRequestContext>) {
        router.get("/registry/discover/:id", use: discover)
        router.get("/registry/:id/peers", use: peers)
    }

    struct Discovered: Encodable {
        let id: String
        let url: String
        let name: String
        let status: String
        let deliveryMode: String

        enum CodingKeys: String, CodingKey {
            case id, url, name, status
            case deliveryMode = "delivery_mode"
        }
    }

    /// 200 with the URL; a poll-mode peer has none and still answers 200 (agents then
    /// queue through the platform). A push-mode peer without a URL is 503.
    @Sendable func discover(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let target = try context.workspaceID()
        guard let caller = request.header(Self.callerHeader) else { throw APIError.badRequest("X-Workspace-ID header is required") }
        guard UUIDText.isValid(caller) else { throw APIError.badRequest("X-Workspace-ID must be a workspace UUID") }
        let callerID = caller.lowercased()
        try await dependencies.authenticator.requireWorkspaceToken(request, callerID)
        guard try await directory.canCommunicate(callerID, target) else {
            throw APIError.forbidden("not authorized to discover this workspace")
        }
        guard let view = try await dependencies.workspaces.find(target) else { throw APIError.notFound("workspace not found") }
        let url = view.url ?? ""
        if url.isEmpty && view.deliveryMode != DeliveryMode.poll {
            throw APIError.unavailable("workspace has no URL yet (status \(view.status))")
        }
        return try JSONResponse.ok(Discovered(id: view.id, url: url, name: view.name, status: view.status, deliveryMode: view.deliveryMode))
    }

    @Sendable func peers(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        try await dependencies.authenticator.requireWorkspace(request, id)
        guard try await dependencies.workspaces.exists(id) else { throw APIError.notFound("workspace not found") }
        var peers = try await directory.peers(of: id)
        if let query = request.query("q")?.lowercased() {
            peers = peers.filter { $0.name.lowercased().contains(query) || ($0.role?.lowercased().contains(query) ?? false) }
        }
        return try JSONResponse.ok(peers)
    }
}
