import Hummingbird
import Logging
import Postgres

/// Token mint, list, rotate and revoke, with the reference's routes: admin mint
/// and revoke-all under `/admin/workspaces/:id`, the workspace's own management
/// under `/workspaces/:id/tokens`, and external credential rotation.
struct TokenRoutes: Sendable {
    let dependencies: ServerDependencies
    private var auth: Authenticator { dependencies.authenticator }
    private var tokens: WorkspaceTokenStore { dependencies.tokens }

    func register(on router: Router<TenantRequestContext>) {
        router.post("/admin/workspaces/:id/tokens", use: adminMint)
        router.post("/admin/workspaces/:id/revoke-auth-tokens", use: adminRevokeAll)
        router.get("/workspaces/:id/tokens", use: list)
        router.post("/workspaces/:id/tokens", use: mint)
        router.delete("/workspaces/:id/tokens/:tokenId", use: revoke)
        router.post("/workspaces/:id/external/rotate", use: rotateExternal)
        router.get("/workspaces/:id/external/connection", use: externalConnection)
    }

    struct MintedReply: Encodable {
        let authToken: String
        let tokenID: String
        let prefix: String
        let workspaceID: String

        enum CodingKeys: String, CodingKey {
            case authToken = "auth_token"
            case tokenID = "token_id"
            case prefix
            case workspaceID = "workspace_id"
        }
    }

    @Sendable func adminMint(_ request: Request, context: TenantRequestContext) async throws -> Response {
        try await auth.requireAdmin(request)
        return try await mintReply(try context.workspaceID(), context)
    }

    @Sendable func mint(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        try await auth.requireWorkspace(request, id)
        return try await mintReply(id, context)
    }

    private func mintReply(_ id: String, _ context: TenantRequestContext) async throws -> Response {
        guard try await dependencies.workspaces.exists(id) else { throw APIError.notFound("workspace not found") }
        let (token, tokenID) = try await tokens.issue(for: id)
        context.logger.info("workspace token issued", metadata: ["workspace_id": "\(id)", "token_prefix": "\(token.prefix)"])
        return try JSONResponse.make(MintedReply(authToken: token.plaintext, tokenID: tokenID, prefix: token.prefix, workspaceID: id), status: .created)
    }

    @Sendable func list(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        try await auth.requireWorkspace(request, id)
        return try JSONResponse.ok(try await tokens.list(id))
    }

    @Sendable func revoke(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        try await auth.requireWorkspace(request, id)
        let tokenID = try context.workspaceID("tokenId")
        guard try await tokens.revoke(tokenID: tokenID, of: id) else { throw APIError.notFound("token not found") }
        await dependencies.tokenCacheInvalidation.announce("token revoked")
        return try JSONResponse.ok(["status": "revoked"])
    }

    @Sendable func adminRevokeAll(_ request: Request, context: TenantRequestContext) async throws -> Response {
        try await auth.requireAdmin(request)
        let id = try context.workspaceID()
        guard try await dependencies.workspaces.exists(id) else { throw APIError.notFound("workspace not found") }
        let count = try await tokens.revokeAll(of: id)
        await dependencies.tokenCacheInvalidation.announce("tokens revoked")
        return try JSONResponse.ok(RevokedReply(status: "revoked", revoked: count))
    }

    struct RevokedReply: Encodable {
        let status: String
        let revoked: Int
    }

    struct ConnectionReply: Encodable {
        let connection: ExternalConnection
    }

    /// Revokes every live token first, then mints: if minting failed, no old
    /// credential would be left alive.
    @Sendable func rotateExternal(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        try await auth.requireWorkspace(request, id)
        try await requireExternal(id)
        let token = try await dependencies.pool.transaction { session in
            try await tokens.revokeAll(of: id, on: session)
            return try await tokens.issue(for: id, on: session).token
        }
        await dependencies.tokenCacheInvalidation.announce("credentials rotated")
        context.logger.info("external credentials rotated", metadata: ["workspace_id": "\(id)", "token_prefix": "\(token.prefix)"])
        let platform = PlatformURL.resolve(dependencies.publicURL, request)
        return try JSONResponse.ok(ConnectionReply(connection: ExternalConnection(platformURL: platform, workspaceID: id, authToken: token.plaintext)))
    }

    @Sendable func externalConnection(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        try await auth.requireWorkspace(request, id)
        try await requireExternal(id)
        let platform = PlatformURL.resolve(dependencies.publicURL, request)
        return try JSONResponse.ok(ConnectionReply(connection: ExternalConnection(platformURL: platform, workspaceID: id, authToken: "")))
    }

    private func requireExternal(_ id: String) async throws {
        guard let view = try await dependencies.workspaces.find(id) else { throw APIError.notFound("workspace not found") }
        guard view.runtime == WorkspaceRuntime.external else {
            throw APIError.badRequest("only valid for external workspaces (runtime \"external\")")
        }
    }
}
