import MemoryContract
import Postgres

/// `POST /registry/register` as the runtime sends it.
struct RegisterBody: Decodable, Sendable {
    let id: String
    let url: String?
    let agentCard: JSONValue?
    let deliveryMode: String?

    enum CodingKeys: String, CodingKey {
        case id, url
        case agentCard = "agent_card"
        case deliveryMode = "delivery_mode"
    }
}

/// `POST /registry/heartbeat` as the runtime's heartbeat loop sends it.
struct HeartbeatBody: Decodable, Sendable {
    let workspaceID: String
    let errorRate: Double?
    let sampleError: String?
    let activeTasks: Int?
    let uptimeSeconds: Int?
    let currentTask: String?
    let runtimeState: String?
    let agentCard: JSONValue?

    enum CodingKeys: String, CodingKey {
        case workspaceID = "workspace_id"
        case errorRate = "error_rate"
        case sampleError = "sample_error"
        case activeTasks = "active_tasks"
        case uptimeSeconds = "uptime_seconds"
        case currentTask = "current_task"
        case runtimeState = "runtime_state"
        case agentCard = "agent_card"
    }
}

/// `POST /registry/update-card`.
struct UpdateCardBody: Decodable, Sendable {
    let workspaceID: String
    let agentCard: JSONValue

    enum CodingKeys: String, CodingKey {
        case workspaceID = "workspace_id"
        case agentCard = "agent_card"
    }
}

struct RegisterReply: Encodable, Sendable {
    let status = "registered"
    let deliveryMode: String
    let authToken: String?
    let platformInboundSecret: String?

    enum CodingKeys: String, CodingKey {
        case status
        case deliveryMode = "delivery_mode"
        case authToken = "auth_token"
        case platformInboundSecret = "platform_inbound_secret"
    }
}

struct HeartbeatReply: Encodable, Sendable {
    let status = "ok"
    let workspaceStatus: String
    let platformInboundSecret: String?

    enum CodingKeys: String, CodingKey {
        case status
        case workspaceStatus = "workspace_status"
        case platformInboundSecret = "platform_inbound_secret"
    }
}

extension JSONValue {
    /// Agent cards are JSON objects (or null to clear); anything else is a 400.
    static func agentCard(_ value: JSONValue?) throws -> PostgresJSON? {
        switch value {
        case nil, .null?: return nil
        case .object?:
            let bytes = try JSONResponse.encoder.encodeBytes(value!)
            return PostgresJSON(String(decoding: bytes, as: UTF8.self))
        default: throw APIError.badRequest("agent_card must be a JSON object")
        }
    }
}
