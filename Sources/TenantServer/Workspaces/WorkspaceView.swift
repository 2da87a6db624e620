import MemoryContract
import Postgres
import Timestamps

/// A workspace as the API shows it. Secrets (tokens, the inbound secret) are never
/// part of it, so the public `GET /workspaces/:id` can return it as is.
struct WorkspaceView: Encodable, Sendable {
    let id: String
    let name: String
    let role: String?
    let tier: Int?
    let status: String
    let runtime: String?
    let deliveryMode: String
    let parentID: String?
    let url: String?
    let agentCard: JSONValue?
    let activeTasks: Int?
    let currentTask: String?
    let uptimeSeconds: Int?
    let lastHeartbeatAt: Timestamp?
    let createdAt: Timestamp?
    let updatedAt: Timestamp?

    enum CodingKeys: String, CodingKey {
        case id, name, role, tier, status, runtime, url
        case deliveryMode = "delivery_mode"
        case parentID = "parent_id"
        case agentCard = "agent_card"
        case activeTasks = "active_tasks"
        case currentTask = "current_task"
        case uptimeSeconds = "uptime_seconds"
        case lastHeartbeatAt = "last_heartbeat_at"
        case createdAt = "created_at"
        case updatedAt = "updated_at"
    }

    /// The column list every query that builds a view selects, in this order.
    static let columns = """
        id, name, role, tier, status::text, runtime, delivery_mode, parent_id, url, agent_card, \
        active_tasks, current_task, uptime_seconds, last_heartbeat_at, created_at, updated_at
        """

    init(row: PostgresRow) throws {
        id = try row.decode(String.self, at: 0)
        name = try row.decode(String.self, at: 1)
        role = try row.decode(String?.self, at: 2)
        tier = try row.decode(Int?.self, at: 3)
        status = try row.decode(String?.self, at: 4) ?? "provisioning"
        runtime = try row.decode(String?.self, at: 5)
        deliveryMode = try row.decode(String.self, at: 6)
        parentID = try row.decode(String?.self, at: 7)
        url = try row.decode(String?.self, at: 8)
        agentCard = try row.decode(PostgresJSON?.self, at: 9).flatMap { try? $0.decode(JSONValue.self) }
        activeTasks = try row.decode(Int?.self, at: 10)
        currentTask = try row.decode(String?.self, at: 11)
        uptimeSeconds = try row.decode(Int?.self, at: 12)
        lastHeartbeatAt = try row.decode(Timestamp?.self, at: 13)
        createdAt = try row.decode(Timestamp?.self, at: 14)
        updatedAt = try row.decode(Timestamp?.self, at: 15)
    }
}
