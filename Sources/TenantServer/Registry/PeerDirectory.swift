import MemoryContract
import Postgres

/// Who may talk to whom (the reference's CanCommunicate): a workspace, its
/// siblings (same parent), its ancestors and its descendants. Separate roots are
/// unrelated: they are separate teams, not siblings.
struct PeerDirectory: Sendable {
    let pool: PostgresPool

    struct Peer: Encodable, Sendable {
        let id: String
        let name: String
        let role: String?
        let tier: Int?
        let status: String
        let url: String
        let parentID: String?
        let activeTasks: Int
        let deliveryMode: String
        let agentCard: JSONValue?

        enum CodingKeys: String, CodingKey {
            case id, name, role, tier, status, url
            case parentID = "parent_id"
            case activeTasks = "active_tasks"
            case deliveryMode = "delivery_mode"
            case agentCard = "agent_card"
        }
    }

    /// Every workspace `id` may communicate with, itself excluded, removed ones excluded.
    static let peersSQL = """
        WITH RECURSIVE me AS (
            SELECT id, parent_id FROM public.workspaces WHERE id = $1
        ), ancestors AS (
            SELECT w.id, w.parent_id FROM public.workspaces w JOIN me ON w.id = me.parent_id
            UNION SELECT w.id, w.parent_id FROM public.workspaces w JOIN ancestors a ON w.id = a.parent_id
        ), descendants AS (
            SELECT w.id FROM public.workspaces w WHERE w.parent_id = $1
            UNION SELECT w.id FROM public.workspaces w JOIN descendants d ON w.parent_id = d.id
        ), related AS (
            SELECT id FROM ancestors
            UNION SELECT id FROM descendants
            UNION SELECT w.id FROM public.workspaces w JOIN me ON w.parent_id = me.parent_id WHERE w.id <> me.id
        )
        SELECT w.id, w.name, w.role, w.tier, w.status::text, COALESCE(w.url, ''), w.parent_id,
               COALESCE(w.active_tasks, 0), w.delivery_mode, w.agent_card
        FROM public.workspaces w JOIN related r ON r.id = w.id
        WHERE w.status IS DISTINCT FROM 'removed'
        """

    func peers(of id: String) async throws -> [Peer] {
        let result = try await pool.query(Self.peersSQL + " ORDER BY w.created_at, w.id", [id])
        return try result.rows.map { row in
            Peer(id: try row.decode(String.self, at: 0), name: try row.decode(String.self, at: 1), role: try row.decode(String?.self, at: 2),
                 tier: try row.decode(Int?.self, at: 3), status: try row.decode(String?.self, at: 4) ?? "provisioning",
                 url: try row.decode(String.self, at: 5), parentID: try row.decode(String?.self, at: 6),
                 activeTasks: try row.decode(Int.self, at: 7), deliveryMode: try row.decode(String.self, at: 8),
                 agentCard: try row.decode(PostgresJSON?.self, at: 9).flatMap { try? $0.decode(JSONValue.self) })
        }
    }

    func canCommunicate(_ caller: String, _ target: String) async throws -> Bool {
        if caller == target { return true }
        let result = try await pool.query("SELECT EXISTS (SELECT 1 FROM (\(Self.peersSQL)) p WHERE p.id = $2)", [caller, target])
        return try result.rows[0].decode(Bool.self, at: 0)
    }
}
