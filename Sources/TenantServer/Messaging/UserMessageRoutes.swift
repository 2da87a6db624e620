import FoundationEssentials
import HTTPTypes
import Hummingbird
import MemoryContract
import Postgres

/// `POST /workspaces/:id/notify` (an agent talks to its user) and
/// `POST /workspaces/:id/broadcast` (an agent tells every workspace of its org), each
/// gated by an ability the admin sets with `PATCH /workspaces/:id/abilities`. Both are
/// stored in activity_logs and published as events, with the reference's shapes.
struct UserMessageRoutes: Sendable {
    let dependencies: ServerDependencies

    func register(on router: Router<TenantRequestContext>) {
        router.post("/workspaces/:id/notify", use: notify)
        router.post("/workspaces/:id/broadcast", use: broadcast)
        router.patch("/workspaces/:id/abilities", use: abilities)
    }

    struct Attachment: Codable, Sendable {
        let uri: String
        let name: String
        let mimeType: String?
        let size: Int?
    }

    struct NotifyBody: Decodable, Sendable {
        let message: String
        let attachments: [Attachment]?
    }

    struct BroadcastBody: Decodable, Sendable {
        let message: String
    }

    struct AbilitiesBody: Decodable, Sendable {
        let broadcastEnabled: Bool?
        let talkToUserEnabled: Bool?

        enum CodingKeys: String, CodingKey {
            case broadcastEnabled = "broadcast_enabled"
            case talkToUserEnabled = "talk_to_user_enabled"
        }
    }

    @Sendable func notify(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        try await dependencies.authenticator.requireWorkspace(request, id)
        let body = try await JSONRequest.decode(NotifyBody.self, request)
        try await send(body.message, attachments: body.attachments ?? [], from: id)
        return try JSONResponse.ok(["status": "sent"])
    }

    /// Stores the message in the workspace's activity and publishes AGENT_MESSAGE, when the
    /// workspace may talk to its user (the MCP `send_message_to_user` shares this path).
    func send(_ message: String, attachments: [Attachment], from id: String) async throws {
        guard !message.trimmed(of: " \t\r\n").isEmpty else { throw APIError.badRequest("message is required") }
        for (index, attachment) in attachments.enumerated() where attachment.uri.isEmpty || attachment.name.isEmpty {
            throw APIError.badRequest("attachment[\(index)]: uri and name are required")
        }
        let row = try await dependencies.pool.query(
            "SELECT name, talk_to_user_enabled FROM public.workspaces WHERE id = $1 AND status IS DISTINCT FROM 'removed'", [id])
        guard let workspace = row.first else { throw APIError.notFound("workspace not found") }
        guard try workspace.decode(Bool.self, at: 1) else {
            throw APIError(.forbidden, code: "talk_to_user_disabled", "talk_to_user_disabled")
        }
        let name = try workspace.decode(String.self, at: 0)
        let attachmentValues = try attachments.map { try JSONValue(encoding: $0) }
        var payload: [String: JSONValue] = ["message": .string(message), "workspace_id": .string(id), "name": .string(name)]
        if !attachments.isEmpty { payload["attachments"] = .array(attachmentValues) }
        var response: [String: JSONValue] = ["result": .string(message)]
        if !attachments.isEmpty {
            response["parts"] = .array(attachmentValues.map { .object(["kind": .string("file"), "file": $0]) })
        }
        _ = try await dependencies.activity.insert(.init(
            workspaceID: id, type: "a2a_receive", method: "notify", summary: "Agent message: " + message.preview(80),
            responseBody: try ActivityRoutes.json(.object(response)), status: "ok"))
        await dependencies.events.emit(EventName.agentMessage, workspaceID: id, payload: .object(payload))
    }

    struct BroadcastReply: Encodable {
        let status = "sent"
        let delivered: Int
    }

    @Sendable func broadcast(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        try await dependencies.authenticator.requireWorkspace(request, id)
        let body = try await JSONRequest.decode(BroadcastBody.self, request)
        guard !body.message.trimmed(of: " \t\r\n").isEmpty else { throw APIError.badRequest("message is required") }
        let row = try await dependencies.pool.query(
            "SELECT name, broadcast_enabled FROM public.workspaces WHERE id = $1 AND status IS DISTINCT FROM 'removed'", [id])
        guard let sender = row.first else { throw APIError.notFound("workspace not found") }
        guard try sender.decode(Bool.self, at: 1) else {
            throw APIError(.forbidden, code: "broadcast_disabled", "broadcast_disabled")
        }
        let name = try sender.decode(String.self, at: 0)
        // Every live workspace under the sender's org root, the sender excluded, one row each.
        let recipients = try await dependencies.pool.transaction { session in
            let inserted = try await session.query("""
                WITH RECURSIVE up AS (
                    SELECT id, parent_id FROM public.workspaces WHERE id = $1
                    UNION ALL SELECT w.id, w.parent_id FROM public.workspaces w JOIN up ON w.id = up.parent_id
                ), root AS (
                    SELECT id FROM up WHERE parent_id IS NULL LIMIT 1
                ), tree AS (
                    SELECT id FROM root
                    UNION SELECT w.id FROM public.workspaces w JOIN tree t ON w.parent_id = t.id
                )
                INSERT INTO public.activity_logs (workspace_id, activity_type, method, source_id, summary, status)
                SELECT w.id, 'broadcast_receive', 'broadcast', $1, $2, 'ok'
                FROM public.workspaces w JOIN tree t ON t.id = w.id
                WHERE w.id <> $1 AND w.status IS DISTINCT FROM 'removed'
                RETURNING workspace_id
                """, [id, "Broadcast from \(name): \(body.message.preview(120))"])
            let ids = try inserted.rows.map { try $0.decode(String.self, at: 0) }
            try await session.query("""
                INSERT INTO public.activity_logs (workspace_id, activity_type, method, summary, status)
                VALUES ($1, 'broadcast_sent', 'broadcast', $2, 'ok')
                """, [id, "Broadcast sent to \(ids.count) workspace(s)"])
            return ids
        }
        let payload = JSONValue.object(["message": .string(body.message), "sender_id": .string(id), "sender": .string(name)])
        for recipient in recipients {
            await dependencies.events.emit(EventName.broadcastMessage, workspaceID: recipient, payload: payload)
        }
        return try JSONResponse.ok(BroadcastReply(delivered: recipients.count))
    }

    @Sendable func abilities(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        try await dependencies.authenticator.requireAdmin(request)
        let body = try await JSONRequest.decode(AbilitiesBody.self, request)
        guard body.broadcastEnabled != nil || body.talkToUserEnabled != nil else {
            throw APIError.badRequest("at least one ability field required (broadcast_enabled, talk_to_user_enabled)")
        }
        let result = try await dependencies.pool.query("""
            UPDATE public.workspaces SET broadcast_enabled = COALESCE($2, broadcast_enabled),
                talk_to_user_enabled = COALESCE($3, talk_to_user_enabled), updated_at = now()
            WHERE id = $1 AND status IS DISTINCT FROM 'removed'
            """, [id, body.broadcastEnabled, body.talkToUserEnabled])
        guard result.affectedRows > 0 else { throw APIError.notFound("workspace not found") }
        return try JSONResponse.ok(["status": "updated"])
    }
}

extension String {
    /// At most `limit` characters, with an ellipsis when cut (activity summaries).
    func preview(_ limit: Int) -> String {
        count <= limit ? self : String(prefix(limit)) + "…"
    }
}

extension JSONValue {
    init<Value: Encodable>(encoding value: Value) throws {
        self = try JSONDecoder().decode(JSONValue.self, from: Data(try JSONResponse.encoder.encodeBytes(value)))
    }
}
