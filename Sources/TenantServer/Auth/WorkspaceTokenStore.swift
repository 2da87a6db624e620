import Postgres
import Timestamps

/// Workspace bearer tokens in `workspace_auth_tokens`: issue, validate, list, revoke.
/// A token is valid only while it is not revoked and its workspace is not removed.
struct WorkspaceTokenStore: Sendable {
    let pool: PostgresPool

    struct Listed: Encodable, Sendable {
        let id: String
        let prefix: String
        let createdAt: Timestamp
        let lastUsedAt: Timestamp?

        enum CodingKeys: String, CodingKey {
            case id, prefix
            case createdAt = "created_at"
            case lastUsedAt = "last_used_at"
        }
    }

    /// Stores a new token for the workspace and returns it with its row id.
    func issue(for workspaceID: String, on session: PostgresSession? = nil) async throws -> (token: IssuedToken, id: String) {
        let token = IssuedToken.generate()
        let sql = "INSERT INTO public.workspace_auth_tokens (workspace_id, token_hash, prefix) VALUES ($1, $2, $3) RETURNING id"
        let parameters: [any PostgresEncodable] = [workspaceID, PostgresBytes(token.hash), token.prefix]
        let result = if let session { try await session.query(sql, parameters) } else { try await pool.query(sql, parameters) }
        return (token, try result.rows[0].decode(String.self, at: 0))
    }

    /// Every authenticated request runs this, so it reads, and writes `last_used_at` only
    /// when the stored value is a minute old: a row write (and its WAL) per request would
    /// cost more than the lookup. Prepared once per connection; the plan is one index probe.
    static let hitCTEs = """
        hit AS (
            SELECT t.id, t.workspace_id, t.last_used_at FROM public.workspace_auth_tokens t
            JOIN public.workspaces w ON w.id = t.workspace_id
            WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND w.status IS DISTINCT FROM 'removed'
        ), touched AS (
            UPDATE public.workspace_auth_tokens t SET last_used_at = now()
            FROM hit WHERE t.id = hit.id AND (hit.last_used_at IS NULL OR hit.last_used_at < now() - interval '1 minute')
        )
        """

    static let lookupSQL = "WITH \(hitCTEs) SELECT workspace_id FROM hit"

    /// The token's owner and the placement of workspace `$2` in one round trip: a memory
    /// route needs both, and a second query would cost a second hop to the database.
    static let lookupWithPlacementSQL = """
        WITH RECURSIVE \(hitCTEs), \(WorkspaceLineageStore.chain(from: "$2"))
        SELECT (SELECT workspace_id::text FROM hit), \(WorkspaceLineageStore.placementColumns)
        """

    /// The workspace a live token belongs to, or nil; `last_used_at` is kept to the minute.
    func workspace(owning token: String) async throws -> String? {
        let hash = SHA256Token.hash(token)
        return try await pool.withConnection { session in
            try await session.query(prepared: Self.lookupSQL, [PostgresBytes(hash)]).first?.decode(String.self, at: 0)
        }
    }

    /// The workspace a live token (by its `SHA256Token` hash) belongs to (nil if none), and where `workspaceID` sits
    /// in its tree (nil if it does not exist), from one statement.
    func owner(ofHash hash: [UInt8], placing workspaceID: String) async throws -> (owner: String?, placement: WorkspaceLineageStore.Placement?) {
        let result = try await pool.withConnection { session in
            try await session.query(prepared: Self.lookupWithPlacementSQL, [PostgresBytes(hash), workspaceID])
        }
        let row = result.rows[0]
        return (try row.decode(String?.self, at: 0), try WorkspaceLineageStore.placement(of: workspaceID, from: row, at: 1))
    }

    func hasLiveToken(_ workspaceID: String, on session: PostgresSession) async throws -> Bool {
        let result = try await session.query(
            "SELECT EXISTS (SELECT 1 FROM public.workspace_auth_tokens WHERE workspace_id = $1 AND revoked_at IS NULL)", [workspaceID])
        return try result.rows[0].decode(Bool.self, at: 0)
    }

    func list(_ workspaceID: String) async throws -> [Listed] {
        let result = try await pool.query("""
            SELECT id, prefix, created_at, last_used_at FROM public.workspace_auth_tokens
            WHERE workspace_id = $1 AND revoked_at IS NULL ORDER BY created_at, id
            """, [workspaceID])
        return try result.rows.map { row in
            Listed(id: try row.decode(String.self, at: 0), prefix: try row.decode(String.self, at: 1),
                   createdAt: try row.decode(Timestamp.self, at: 2), lastUsedAt: try row.decode(Timestamp?.self, at: 3))
        }
    }

    /// Revokes one token of the workspace; false when there was no such live token.
    func revoke(tokenID: String, of workspaceID: String) async throws -> Bool {
        let result = try await pool.query("""
            UPDATE public.workspace_auth_tokens SET revoked_at = now()
            WHERE id = $1 AND workspace_id = $2 AND revoked_at IS NULL
            """, [tokenID, workspaceID])
        return result.affectedRows > 0
    }

    /// Revokes every live token of the workspace; returns how many.
    @discardableResult
    func revokeAll(of workspaceID: String, on session: PostgresSession? = nil) async throws -> Int {
        let sql = "UPDATE public.workspace_auth_tokens SET revoked_at = now() WHERE workspace_id = $1 AND revoked_at IS NULL"
        let result = if let session { try await session.query(sql, [workspaceID]) } else { try await pool.query(sql, [workspaceID]) }
        return result.affectedRows
    }
}
