import MemoryContract
import Postgres
import TenantCrypto

/// SQL for workspaces: create, read, list, patch, remove, and the tree queries that
/// decide who may talk to whom.
struct WorkspaceStore: Sendable {
    let pool: PostgresPool

    struct NewWorkspace: Sendable {
        var name: String
        var role: String?
        var tier: Int
        var runtime: String
        var parentID: String?
        var url: String?
        var deliveryMode: String
        var status: WorkspaceStatus
    }

    func create(_ workspace: NewWorkspace, on session: PostgresSession) async throws -> WorkspaceView {
        let secret = Base64.encodeURLSafe(SecureRandom.bytes(32))
        let result = try await session.query("""
            INSERT INTO public.workspaces (name, role, tier, runtime, parent_id, url, delivery_mode, status, platform_inbound_secret)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8::public.workspace_status, $9)
            RETURNING \(WorkspaceView.columns)
            """, [workspace.name, workspace.role, workspace.tier, workspace.runtime, workspace.parentID, workspace.url,
                  workspace.deliveryMode, workspace.status.rawValue, secret])
        return try WorkspaceView(row: result.rows[0])
    }

    /// A workspace that is not removed, or nil.
    func find(_ id: String) async throws -> WorkspaceView? {
        let result = try await pool.query(
            "SELECT \(WorkspaceView.columns) FROM public.workspaces WHERE id = $1 AND status IS DISTINCT FROM 'removed'", [id])
        return try result.first.map(WorkspaceView.init(row:))
    }

    func list() async throws -> [WorkspaceView] {
        let result = try await pool.query(
            "SELECT \(WorkspaceView.columns) FROM public.workspaces WHERE status IS DISTINCT FROM 'removed' ORDER BY created_at, id")
        return try result.rows.map(WorkspaceView.init(row:))
    }

    func exists(_ id: String, on session: PostgresSession? = nil) async throws -> Bool {
        let sql = "SELECT 1 FROM public.workspaces WHERE id = $1 AND status IS DISTINCT FROM 'removed'"
        let result = if let session { try await session.query(sql, [id]) } else { try await pool.query(sql, [id]) }
        return !result.isEmpty
    }

    /// True when `candidate` is `id` itself or one of its descendants (a parent there would make a cycle).
    func isSelfOrDescendant(_ candidate: String, of id: String, on session: PostgresSession) async throws -> Bool {
        let result = try await session.query("""
            WITH RECURSIVE subtree AS (
                SELECT id FROM public.workspaces WHERE id = $1
                UNION SELECT w.id FROM public.workspaces w JOIN subtree s ON w.parent_id = s.id
            )
            SELECT EXISTS (SELECT 1 FROM subtree WHERE id = $2)
            """, [id, candidate])
        return try result.rows[0].decode(Bool.self, at: 0)
    }

    func rename(_ id: String, to name: String, on session: PostgresSession) async throws {
        try await session.query("UPDATE public.workspaces SET name = $2, updated_at = now() WHERE id = $1", [id, name])
    }

    func reparent(_ id: String, to parentID: String?, on session: PostgresSession) async throws {
        try await session.query("UPDATE public.workspaces SET parent_id = $2, updated_at = now() WHERE id = $1", [id, parentID])
    }

    /// Marks the workspace and its whole subtree removed and revokes their tokens;
    /// returns the removed ids. Rows stay, so activity history keeps its references.
    func remove(_ id: String, on session: PostgresSession) async throws -> [String] {
        let result = try await session.query("""
            WITH RECURSIVE subtree AS (
                SELECT id FROM public.workspaces WHERE id = $1
                UNION SELECT w.id FROM public.workspaces w JOIN subtree s ON w.parent_id = s.id
            ), removed AS (
                UPDATE public.workspaces SET status = 'removed', url = NULL, updated_at = now()
                WHERE id IN (SELECT id FROM subtree) AND status IS DISTINCT FROM 'removed'
                RETURNING id
            ), revoked AS (
                UPDATE public.workspace_auth_tokens SET revoked_at = now()
                WHERE workspace_id IN (SELECT id FROM subtree) AND revoked_at IS NULL
            )
            SELECT id FROM removed
            """, [id])
        return try result.rows.map { try $0.decode(String.self, at: 0) }
    }

    /// The inbound secret, minted now if the row predates it (rows made by the reference).
    func inboundSecret(_ id: String) async throws -> String? {
        let fresh = Base64.encodeURLSafe(SecureRandom.bytes(32))
        let result = try await pool.query("""
            UPDATE public.workspaces SET platform_inbound_secret = COALESCE(platform_inbound_secret, $2)
            WHERE id = $1 RETURNING platform_inbound_secret
            """, [id, fresh])
        return try result.first?.decode(String.self, at: 0)
    }
}
