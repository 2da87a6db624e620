import Hummingbird
import MemoryContract
import Postgres

/// `POST|GET /workspaces/:id/activity` (DESIGN section 5.1).
struct ActivityRoutes: Sendable {
    let dependencies: ServerDependencies

    func register(on router: Router<TenantRequestContext>) {
        router.post("/workspaces/:id/activity", use: report)
        router.get("/workspaces/:id/activity", use: list)
    }

    struct ReportBody: Decodable, Sendable {
        let activityType: String
        let method: String?
        let summary: String?
        let targetID: String?
        let sourceID: String?
        let status: String?
        let errorDetail: String?
        let durationMs: Int?
        let requestBody: JSONValue?
        let responseBody: JSONValue?
        let metadata: JSONValue?

        enum CodingKeys: String, CodingKey {
            case method, summary, status, metadata
            case activityType = "activity_type"
            case targetID = "target_id"
            case sourceID = "source_id"
            case errorDetail = "error_detail"
            case durationMs = "duration_ms"
            case requestBody = "request_body"
            case responseBody = "response_body"
        }
    }

    struct Logged: Encodable {
        let status = "logged"
        let id: String
    }

    @Sendable func report(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        try await dependencies.authenticator.requireWorkspace(request, id)
        let body = try await JSONRequest.decode(ReportBody.self, request)
        guard ActivityStore.types.contains(body.activityType) else {
            throw APIError.badRequest("invalid activity_type, must be one of: \(ActivityStore.types.sorted().joined(separator: ", "))")
        }
        // A workspace may only attribute activity to itself (the reference's spoof guard).
        let source = body.sourceID.flatMap { $0.isEmpty ? nil : $0.lowercased() }
        if let source, source != id { throw APIError.forbidden("source_id must match authenticated workspace") }
        let target = try body.targetID.flatMap { value -> String? in
            guard !value.isEmpty else { return nil }
            guard UUIDText.isValid(value) else { throw APIError.badRequest("target_id must be a workspace UUID") }
            return value.lowercased()
        }
        if let duration = body.durationMs, duration < 0 { throw APIError.badRequest("duration_ms must not be negative") }
        guard try await dependencies.workspaces.exists(id) else { throw APIError.notFound("workspace not found") }
        let entryID = try await dependencies.activity.insert(.init(
            workspaceID: id, type: body.activityType, sourceID: source ?? id, targetID: target,
            method: body.method.flatMap { $0.isEmpty ? nil : $0 }, summary: body.summary.flatMap { $0.isEmpty ? nil : $0 },
            requestBody: try Self.json(body.requestBody ?? body.metadata), responseBody: try Self.json(body.responseBody),
            durationMs: body.durationMs, status: body.status.flatMap { $0.isEmpty ? nil : $0 } ?? "ok",
            errorDetail: body.errorDetail.flatMap { $0.isEmpty ? nil : $0 }))
        return try JSONResponse.ok(Logged(id: entryID))
    }

    @Sendable func list(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        try await dependencies.authenticator.requireWorkspace(request, id)
        let query = try ActivityQuery(
            type: request.query("type"), source: request.query("source"), limit: request.query("limit"),
            sinceSeconds: request.query("since_secs"), sinceID: request.query("since_id"))
        return try JSONResponse.ok(try await dependencies.activity.list(id, query))
    }

    static func json(_ value: JSONValue?) throws -> PostgresJSON? {
        guard let value, value != .null else { return nil }
        let bytes = try JSONResponse.encoder.encodeBytes(value)
        return PostgresJSON(String(decoding: bytes, as: UTF8.self))
    }
}
