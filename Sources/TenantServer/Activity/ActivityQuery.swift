/// The filters of `GET /workspaces/:id/activity`: `type`, `source` (canvas|agent),
/// `limit` (1...500, default 100), `since_secs` (newest first) and `since_id` (a
/// cursor: rows strictly after it, oldest first; 410 once it is gone).
struct ActivityQuery: Sendable {
    var type: String?
    var source: String?
    var limit = 100
    var sinceSeconds: Int?
    var sinceID: String?

    static let maxLimit = 500
    static let maxSinceSeconds = 30 * 24 * 60 * 60

    init(type: String?, source: String?, limit: String?, sinceSeconds: String?, sinceID: String?) throws {
        self.type = type
        if let source {
            guard source == "canvas" || source == "agent" else { throw APIError.badRequest("source must be 'canvas' or 'agent'") }
            self.source = source
        }
        if let limit {
            guard let value = Int(limit), value > 0 else { throw APIError.badRequest("limit must be a positive integer") }
            self.limit = min(value, Self.maxLimit)
        }
        if let sinceSeconds {
            guard let value = Int(sinceSeconds), value > 0 else { throw APIError.badRequest("since_secs must be a positive integer") }
            self.sinceSeconds = min(value, Self.maxSinceSeconds)
        }
        if let sinceID {
            guard UUIDText.isValid(sinceID) else { throw APIError.badRequest("since_id must be an activity id (UUID)") }
            self.sinceID = sinceID.lowercased()
        }
    }
}
