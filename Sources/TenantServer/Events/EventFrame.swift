import MemoryContract
import Timestamps

/// One event as the reference sends it over `/ws` and publishes on Redis:
/// `{"event", "workspace_id", "timestamp", "payload"}`.
struct EventFrame: Codable, Sendable, Equatable {
    let event: String
    let workspaceID: String
    let timestamp: Timestamp
    let payload: JSONValue

    enum CodingKeys: String, CodingKey {
        case event, timestamp, payload
        case workspaceID = "workspace_id"
    }
}

/// The event names this server emits (the reference's `events.EventType` values).
enum EventName {
    static let agentMessage = "AGENT_MESSAGE"
    static let broadcastMessage = "BROADCAST_MESSAGE"
    static let a2aResponse = "A2A_RESPONSE"
    static let activityLogged = "ACTIVITY_LOGGED"
    static let delegationSent = "DELEGATION_SENT"
    static let delegationStatus = "DELEGATION_STATUS"
    static let delegationComplete = "DELEGATION_COMPLETE"
    static let delegationFailed = "DELEGATION_FAILED"
}
