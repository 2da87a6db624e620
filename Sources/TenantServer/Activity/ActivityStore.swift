import MemoryContract
import Postgres

/// activity_logs: what agents report (A2A traffic, memory writes, task updates)
/// and the cursor reads runtimes poll.
struct ActivityStore: Sendable {
    let pool: PostgresPool

    /// The types the reference accepts, plus memory_write and skill_promotion.
    static let types: Set<String> = [
        "a2a_send", "a2a_receive", "task_update", "agent_log", "skill_promotion", "memory_write", "error",
    ]

    struct NewEntry: Sendable {
        var workspaceID: String
        var type: String
        var sourceID: String?
        var targetID: String?
        var method: String?
        var summary: String?
        var requestBody: PostgresJSON?
        var responseBody: PostgresJSON?
        var durationMs: Int?
        var status: String
        var errorDetail: String?
    }

    func insert(_ entry: NewEntry) async throws -> String {
        let result = try await pool.query("""
            INSERT INTO public.activity_logs
                (workspace_id, activity_type, source_id, target_id, method, summary, request_body, response_body, duration_ms, status, error_detail)
            VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11)
            RETURNING id
            """, [entry.workspaceID, entry.type, entry.sourceID, entry.targetID, entry.method, entry.summary,
                  entry.requestBody, entry.responseBody, entry.durationMs, entry.status, entry.errorDetail])
        return try result.rows[0].decode(String.self, at: 0)
    }

    /// Rows of one workspace. With a cursor: strictly after it in (created_at, id)
    /// order, oldest first, so rows written in the same microsecond are neither lost
    /// nor repeated. Throws 410 when the cursor row is gone or is another workspace's.
    func list(_ workspaceID: String, _ query: ActivityQuery) async throws -> [ActivityEntry] {
        var sql = "SELECT \(ActivityEntry.columns) FROM public.activity_logs WHERE workspace_id = $1"
        var parameters: [any PostgresEncodable] = [workspaceID]
        func bind(_ value: any PostgresEncodable) -> String {
            parameters.append(value)
            return "$\(parameters.count)"
        }
        if let type = query.type { sql += " AND activity_type = \(bind(type))" }
        if query.source == "canvas" { sql += " AND source_id IS NULL" }
        if query.source == "agent" { sql += " AND source_id IS NOT NULL" }
        if let seconds = query.sinceSeconds { sql += " AND created_at >= now() - make_interval(secs => \(bind(seconds)))" }
        if let cursor = query.sinceID {
            let found = try await pool.query(
                "SELECT 1 FROM public.activity_logs WHERE id = $1 AND workspace_id = $2", [cursor, workspaceID])
            guard !found.isEmpty else {
                throw APIError.gone("since_id cursor not found (row may have been pruned or belongs to a different workspace); omit since_id to reset")
            }
            let parameter = bind(cursor)
            sql += " AND (created_at, id) > (SELECT created_at, id FROM public.activity_logs WHERE id = \(parameter))"
            sql += " ORDER BY created_at ASC, id ASC LIMIT \(bind(query.limit))"
        } else {
            sql += " ORDER BY created_at DESC, id DESC LIMIT \(bind(query.limit))"
        }
        let result = try await pool.query(sql, parameters)
        return try result.rows.map(ActivityEntry.init(row:))
    }
}
