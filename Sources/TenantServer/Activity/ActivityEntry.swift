import MemoryContract
import Postgres
import Timestamps

/// One activity_logs row as `GET /workspaces/:id/activity` returns it. Absent
/// values are JSON null, as the reference writes them.
struct ActivityEntry: Encodable, Sendable {
    let id: String
    let workspaceID: String
    let activityType: String
    let sourceID: String?
    let targetID: String?
    let method: String?
    let summary: String?
    let requestBody: JSONValue?
    let responseBody: JSONValue?
    let toolTrace: JSONValue?
    let durationMs: Int?
    let status: String?
    let errorDetail: String?
    let createdAt: Timestamp

    enum CodingKeys: String, CodingKey {
        case id, method, summary, status
        case workspaceID = "workspace_id"
        case activityType = "activity_type"
        case sourceID = "source_id"
        case targetID = "target_id"
        case requestBody = "request_body"
        case responseBody = "response_body"
        case toolTrace = "tool_trace"
        case durationMs = "duration_ms"
        case errorDetail = "error_detail"
        case createdAt = "created_at"
    }

    static let columns = """
        id, workspace_id, activity_type, source_id, target_id, method, summary, request_body, response_body, \
        tool_trace, duration_ms, status, error_detail, created_at
        """

    init(row: PostgresRow) throws {
        func json(_ column: Int) throws -> JSONValue? {
            try row.decode(PostgresJSON?.self, at: column).flatMap { try? $0.decode(JSONValue.self) }
        }
        id = try row.decode(String.self, at: 0)
        workspaceID = try row.decode(String.self, at: 1)
        activityType = try row.decode(String.self, at: 2)
        sourceID = try row.decode(String?.self, at: 3)
        targetID = try row.decode(String?.self, at: 4)
        method = try row.decode(String?.self, at: 5)
        summary = try row.decode(String?.self, at: 6)
        requestBody = try json(7)
        responseBody = try json(8)
        toolTrace = try json(9)
        durationMs = try row.decode(Int?.self, at: 10)
        status = try row.decode(String?.self, at: 11)
        errorDetail = try row.decode(String?.self, at: 12)
        createdAt = try row.decode(Timestamp.self, at: 13)
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(workspaceID, forKey: .workspaceID)
        try container.encode(activityType, forKey: .activityType)
        try container.encode(sourceID, forKey: .sourceID)
        try container.encode(targetID, forKey: .targetID)
        try container.encode(method, forKey: .method)
        try container.encode(summary, forKey: .summary)
        try container.encodeIfPresent(requestBody, forKey: .requestBody)
        try container.encodeIfPresent(responseBody, forKey: .responseBody)
        try container.encodeIfPresent(toolTrace, forKey: .toolTrace)
        try container.encode(durationMs, forKey: .durationMs)
        try container.encode(status, forKey: .status)
        try container.encode(errorDetail, forKey: .errorDetail)
        try container.encode(createdAt, forKey: .createdAt)
    }
}
