import Hummingbird
import Postgres
import TenantCrypto

/// Who may call what. Admin routes accept only ADMIN_TOKEN (constant-time compare)
/// or a live org token; with neither configured they answer 401 (fail closed).
/// Workspace routes accept the workspace's own token, or an admin credential.
/// Every refusal is 401, as the reference answers, so a caller cannot tell a wrong
/// token from a token of another workspace. A database failure during a lookup is
/// 503, never an accidental pass.
struct Authenticator: Sendable {
    let pool: PostgresPool
    let adminToken: String?
    let tokens: WorkspaceTokenStore
    /// Recently verified workspace tokens with their placement (the memory routes' hot path).
    let cache: VerifiedTokenCache

    var lineages: WorkspaceLineageStore { WorkspaceLineageStore(pool: pool) }

    enum Caller: Sendable, Equatable {
        case admin
        case workspace(String)
    }

    func requireAdmin(_ request: Request) async throws {
        guard let token = BearerToken.from(request) else { throw APIError.unauthorized("admin auth required") }
        guard try await isAdmin(token) else { throw APIError.unauthorized("invalid admin auth token") }
    }

    /// The caller of a `/workspaces/:id/...` route: admin, or the workspace itself.
    @discardableResult
    func requireWorkspace(_ request: Request, _ workspaceID: String) async throws -> Caller {
        guard let token = BearerToken.from(request) else { throw APIError.unauthorized("missing workspace auth token") }
        if let adminToken, constantTimeEquals(Array(token.utf8), Array(adminToken.utf8)) { return .admin }
        // The workspace's own token is the common case: look it up before the org tokens,
        // so an agent's request costs one query, not two.
        if try await lookup({ try await tokens.workspace(owning: token) }) == workspaceID { return .workspace(workspaceID) }
        guard try await lookup({ try await isLiveOrgToken(token) }) else { throw APIError.unauthorized("invalid workspace auth token") }
        return .admin
    }

    /// The caller of a `/workspaces/:id/...` route that also needs the workspace's place in
    /// its tree (the memory routes): for an agent's own token both come from one query, or
    /// from the cache of tokens verified in the last `AUTH_CACHE_TTL`.
    func requireWorkspaceAccess(_ request: Request, _ workspaceID: String) async throws -> WorkspaceAccess {
        guard let token = BearerToken.from(request) else { throw APIError.unauthorized("missing workspace auth token") }
        if let adminToken, constantTimeEquals(Array(token.utf8), Array(adminToken.utf8)) {
            return WorkspaceAccess(caller: .admin, workspaceID: workspaceID, known: nil, lineages: lineages)
        }
        let key = VerifiedTokenCache.Key(tokenHash: SHA256Token.hash(token), workspaceID: workspaceID)
        if let cached = cache.placement(for: key) {
            return WorkspaceAccess(caller: .workspace(workspaceID), workspaceID: workspaceID, known: cached, lineages: lineages)
        }
        let ticket = cache.ticket()
        let (owner, placement) = try await lookup { try await tokens.owner(ofHash: key.tokenHash, placing: workspaceID) }
        if owner == workspaceID {
            // The token's workspace exists, so its placement was read; only that pair is kept.
            if let ticket, let placement { cache.store(placement, for: key, ticket: ticket) }
            return WorkspaceAccess(caller: .workspace(workspaceID), workspaceID: workspaceID, known: placement, lineages: lineages)
        }
        guard try await lookup({ try await isLiveOrgToken(token) }) else { throw APIError.unauthorized("invalid workspace auth token") }
        return WorkspaceAccess(caller: .admin, workspaceID: workspaceID, known: placement, lineages: lineages)
    }

    /// For registry calls: the bearer must be a live token of exactly this workspace.
    func requireWorkspaceToken(_ request: Request, _ workspaceID: String) async throws {
        guard let token = BearerToken.from(request) else { throw APIError.unauthorized("missing workspace auth token") }
        guard try await lookup({ try await tokens.workspace(owning: token) }) == workspaceID else {
            throw APIError.unauthorized("invalid workspace auth token")
        }
    }

    func isAdmin(_ token: String) async throws -> Bool {
        if let adminToken, constantTimeEquals(Array(token.utf8), Array(adminToken.utf8)) { return true }
        return try await lookup { try await isLiveOrgToken(token) }
    }

    private func isLiveOrgToken(_ token: String) async throws -> Bool {
        let result = try await pool.query("""
            UPDATE public.org_api_tokens SET last_used_at = now()
            WHERE token_hash = $1 AND revoked_at IS NULL RETURNING id
            """, [PostgresBytes(SHA256Token.hash(token))])
        return !result.isEmpty
    }

    private func lookup<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as PostgresError {
            throw error.isConnectionProblem ? APIError.unavailable("platform datastore unavailable; retry shortly") : error
        }
    }
}
