import Hummingbird
import MemoryAccess
import MemoryContract
import Postgres
import Timestamps

/// `GET /workspaces/:id/session-search?q=&limit=`: the workspace's own activity and the
/// memories it can read, newest first, in the reference's item shape (`kind` activity or
/// memory; a memory's `label` is its scope). Memory comes from the plugin, so a plugin
/// that is down makes this 503 rather than a quietly partial answer.
struct SessionSearchRoutes: Sendable {
    let memory: WorkspaceMemory
    let authenticator: Authenticator
    let pool: PostgresPool

    func register(on router: Router<TenantRequestContext>) {
        router.get("/workspaces/:id/session-search", use: search)
    }

    struct Item: Encodable {
        let kind: String
        let id: String
        let workspaceID: String
        let label: String
        let content: String
        let method: String
        let status: String
        let requestBody: JSONValue?
        let responseBody: JSONValue?
        let createdAt: Timestamp

        enum CodingKeys: String, CodingKey {
            case kind, id, label, content, method, status
            case workspaceID = "workspace_id"
            case requestBody = "request_body"
            case responseBody = "response_body"
            case createdAt = "created_at"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(kind, forKey: .kind)
            try container.encode(id, forKey: .id)
            try container.encode(workspaceID, forKey: .workspaceID)
            try container.encode(label, forKey: .label)
            try container.encode(content, forKey: .content)
            try container.encode(method, forKey: .method)
            try container.encode(status, forKey: .status)
            try container.encodeIfPresent(requestBody, forKey: .requestBody)
            try container.encodeIfPresent(responseBody, forKey: .responseBody)
            try container.encode(createdAt, forKey: .createdAt)
        }
    }

    static let defaultLimit = 50
    static let maxLimit = 200

    @Sendable func search(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        let access = try await authenticator.requireWorkspaceAccess(request, id)
        var limit = Self.defaultLimit
        if let text = request.query("limit") {
            guard let value = Int(text), value > 0 else { throw APIError.badRequest("limit must be a positive integer") }
            limit = min(value, Self.maxLimit)
        }
        let query = request.query("q").map(Self.trimmed).flatMap { $0.isEmpty ? nil : $0 }
        let resolver = try await access.placement().resolver
        // Memory first: if the plugin is down the answer is 503 before any SQL runs.
        let memories = try await memory.search([], query: query, limit: min(limit, MemoryQuery.maxLimit), by: resolver)
        let activity = try await activityItems(id, query: query, limit: limit)
        let memoryItems = memories.map { found in
            Item(kind: "memory", id: found.id, workspaceID: id, label: MemoryScope(namespace: found.namespace)?.rawValue ?? found.namespace,
                 content: OrgMemory.present(found), method: "", status: "", requestBody: nil, responseBody: nil, createdAt: found.createdAt)
        }
        let merged = (activity + memoryItems).sorted { ($0.createdAt, $0.id) > ($1.createdAt, $1.id) }
        return try JSONResponse.ok(Array(merged.prefix(limit)))
    }

    /// Activity rows whose text fields or bodies contain `query` (case-insensitive; `%`
    /// and `_` in the query match themselves).
    func activityItems(_ workspaceID: String, query: String?, limit: Int) async throws -> [Item] {
        var sql = """
            SELECT id::text, activity_type, COALESCE(summary, ''), COALESCE(method, ''), COALESCE(status, ''),
                   request_body, response_body, created_at
            FROM public.activity_logs WHERE workspace_id = $1
            """
        var parameters: [any PostgresEncodable] = [workspaceID]
        if let query {
            sql += """
                 AND (summary ILIKE $2 ESCAPE '\\' OR activity_type ILIKE $2 ESCAPE '\\' OR method ILIKE $2 ESCAPE '\\'
                      OR status ILIKE $2 ESCAPE '\\' OR COALESCE(request_body::text, '') ILIKE $2 ESCAPE '\\'
                      OR COALESCE(response_body::text, '') ILIKE $2 ESCAPE '\\')
                """
            parameters.append("%" + Self.escapeLike(query) + "%")
        }
        sql += " ORDER BY created_at DESC, id DESC LIMIT $\(parameters.count + 1)"
        parameters.append(limit)
        let rows = try await pool.query(sql, parameters).rows
        return try rows.map { row in
            func json(_ column: Int) throws -> JSONValue? {
                try row.decode(PostgresJSON?.self, at: column).flatMap { try? $0.decode(JSONValue.self) }
            }
            return Item(kind: "activity", id: try row.decode(String.self, at: 0), workspaceID: workspaceID,
                        label: try row.decode(String.self, at: 1), content: try row.decode(String.self, at: 2),
                        method: try row.decode(String.self, at: 3), status: try row.decode(String.self, at: 4),
                        requestBody: try json(5), responseBody: try json(6), createdAt: try row.decode(Timestamp.self, at: 7))
        }
    }

    static func trimmed(_ text: String) -> String {
        var slice = Substring(text)
        while slice.first?.isWhitespace == true { slice = slice.dropFirst() }
        while slice.last?.isWhitespace == true { slice = slice.dropLast() }
        return String(slice)
    }

    static func escapeLike(_ text: String) -> String {
        var out = ""
        for character in text {
            if character == "\\" || character == "%" || character == "_" { out.append("\\") }
            out.append(character)
        }
        return out
    }
}
