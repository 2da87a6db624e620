import HTTPTypes
import Hummingbird
import MemoryContract
import NIOCore
import Postgres
import ServiceLifecycle
import Timestamps

/// `GET /workspaces/:id/events/stream`: the workspace's events as Server-Sent Events
/// in the reference's AG-UI envelope (`data: {"type", "timestamp" (ms), "data"}`), with
/// a `: ping` comment as keep-alive. The stream ends when the client goes, when the
/// client falls too far behind, or when the server shuts down.
/// `GET /events` and `GET /events/:workspaceId` list stored events (admin only).
struct EventStreamRoutes: Sendable {
    let dependencies: ServerDependencies
    var bus: EventBus { dependencies.events }

    func register(on router: Router<TenantRequestContext>) {
        router.get("/workspaces/:id/events/stream", use: stream)
        router.get("/events", use: list)
        router.get("/events/:workspaceId", use: list)
    }

    struct Envelope: Encodable {
        let type: String
        let timestamp: Int64
        let data: JSONValue
    }

    @Sendable func stream(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        try await dependencies.authenticator.requireWorkspace(request, id)
        guard try await dependencies.workspaces.exists(id) else { throw APIError.notFound("workspace not found") }
        let subscription = bus.subscribe(workspaceID: id)
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        let bus = self.bus
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { bus.unsubscribe(subscription.id) }
            try await withGracefulShutdownHandler {
                try await writer.write(ByteBuffer(string: ": ping\n\n"))
                for await delivery in subscription.stream {
                    switch delivery {
                    case .keepAlive:
                        try await writer.write(ByteBuffer(string: ": ping\n\n"))
                    case .frame(let frame):
                        let envelope = Envelope(type: frame.event, timestamp: frame.timestamp.microseconds / 1000, data: frame.payload)
                        var buffer = ByteBuffer(string: "data: ")
                        buffer.writeBytes(try JSONResponse.encoder.encodeBytes(envelope))
                        buffer.writeString("\n\n")
                        try await writer.write(buffer)
                    }
                }
            } onGracefulShutdown: {
                bus.unsubscribe(subscription.id)
            }
            try await writer.finish(nil)
        })
    }

    struct StoredEvent: Encodable {
        let id: String
        let eventType: String
        let workspaceID: String?
        let payload: JSONValue?
        let createdAt: Timestamp?

        enum CodingKeys: String, CodingKey {
            case id, payload
            case eventType = "event_type"
            case workspaceID = "workspace_id"
            case createdAt = "created_at"
        }
    }

    /// The newest 100 stored events, tenant-wide or of one workspace.
    @Sendable func list(_ request: Request, context: TenantRequestContext) async throws -> Response {
        try await dependencies.authenticator.requireAdmin(request)
        var sql = "SELECT id, event_type, workspace_id, payload, created_at FROM public.structure_events"
        var parameters: [any PostgresEncodable] = []
        if context.parameters.get("workspaceId") != nil {
            parameters.append(try context.workspaceID("workspaceId"))
            sql += " WHERE workspace_id = $1"
        }
        let result = try await dependencies.pool.query(sql + " ORDER BY created_at DESC LIMIT 100", parameters)
        return try JSONResponse.ok(try result.rows.map { row in
            StoredEvent(id: try row.decode(String.self, at: 0), eventType: try row.decode(String.self, at: 1),
                        workspaceID: try row.decode(String?.self, at: 2),
                        payload: try row.decode(PostgresJSON?.self, at: 3).flatMap { try? $0.decode(JSONValue.self) },
                        createdAt: try row.decode(Timestamp?.self, at: 4))
        })
    }
}
