import FoundationEssentials
import Hummingbird
import Logging
import MemoryContract
import Postgres

/// `POST /workspaces/:id/delegate` (202 `{delegation_id}`, idempotent by
/// `idempotency_key`), `GET /workspaces/:id/delegations`, and the two calls an agent
/// makes for delegations it runs itself: `POST .../delegations/record` and
/// `POST .../delegations/:delegation_id/update`. `:id` is always the source workspace,
/// authenticated by its own token (or an admin).
struct DelegationRoutes: Sendable {
    let dependencies: ServerDependencies
    let ledger: DelegationLedger
    let executor: DelegationExecutor

    init(dependencies: ServerDependencies, logger: Logger) {
        self.dependencies = dependencies
        executor = dependencies.delegationExecutor(logger: logger)
        ledger = executor.ledger
    }

    func register(on router: Router<TenantRequestContext>) {
        router.post("/workspaces/:id/delegate", use: delegate)
        router.get("/workspaces/:id/delegations", use: list)
        router.post("/workspaces/:id/delegations/record", use: record)
        router.post("/workspaces/:id/delegations/:delegation_id/update", use: update)
    }

    struct DelegateBody: Decodable, Sendable {
        let targetID: String
        let task: String
        let idempotencyKey: String?

        enum CodingKeys: String, CodingKey {
            case task
            case targetID = "target_id"
            case idempotencyKey = "idempotency_key"
        }
    }

    struct Delegated: Encodable {
        let delegationID: String
        let status: String
        let targetID: String
        let idempotentHit: Bool?

        enum CodingKeys: String, CodingKey {
            case status
            case delegationID = "delegation_id"
            case targetID = "target_id"
            case idempotentHit = "idempotent_hit"
        }
    }

    @Sendable func delegate(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let source = try context.workspaceID()
        try await dependencies.authenticator.requireWorkspace(request, source)
        let body = try await JSONRequest.decode(DelegateBody.self, request)
        let started = try await start(source: source, targetID: body.targetID, task: body.task, idempotencyKey: body.idempotencyKey)
        return try JSONResponse.make(started, status: started.idempotentHit == true ? .ok : .accepted)
    }

    /// Records a delegation and sends it on its way (the MCP tools share this path):
    /// the target must be a peer; a repeated idempotency key returns the earlier one.
    func start(source: String, targetID: String, task: String, idempotencyKey: String?) async throws -> Delegated {
        let target = try Self.workspace(targetID, "target_id")
        guard !task.trimmed(of: " \t\r\n").isEmpty else { throw APIError.badRequest("task is required") }
        guard target != source else { throw APIError.badRequest("self-delegation not permitted: pick a different peer") }
        let key = idempotencyKey.flatMap { $0.isEmpty ? nil : String($0.prefix(256)) }
        try await requirePeers(source, target)
        let id = UUID().uuidString.lowercased()
        if let earlier = try await ledger.insert(id: id, source: source, target: target, task: task, status: "queued", idempotencyKey: key) {
            return Delegated(delegationID: earlier.id, status: earlier.status, targetID: target, idempotentHit: true)
        }
        try await logDelegate(id: id, source: source, target: target, task: task, status: "pending")
        await dependencies.events.emit(EventName.delegationSent, workspaceID: source, payload: .object([
            "delegation_id": .string(id), "target_id": .string(target), "task_preview": .string(task.preview(100)),
        ]))
        let executor = self.executor
        // Detached: the delegation outlives this request.
        Task.detached { await executor.run(delegationID: id, source: source, target: target, task: task) }
        return Delegated(delegationID: id, status: "delegated", targetID: target, idempotentHit: nil)
    }

    @Sendable func list(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        try await dependencies.authenticator.requireWorkspace(request, id)
        return try JSONResponse.ok(try await ledger.list(id))
    }

    struct RecordBody: Decodable, Sendable {
        let targetID: String
        let task: String
        let delegationID: String

        enum CodingKeys: String, CodingKey {
            case task
            case targetID = "target_id"
            case delegationID = "delegation_id"
        }
    }

    /// An agent that sent the A2A itself records the delegation so `/delegations` shows it.
    @Sendable func record(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let source = try context.workspaceID()
        try await dependencies.authenticator.requireWorkspace(request, source)
        let body = try await JSONRequest.decode(RecordBody.self, request)
        let target = try Self.workspace(body.targetID, "target_id")
        let id = try Self.delegationID(body.delegationID)
        guard !body.task.isEmpty else { throw APIError.badRequest("task is required") }
        try await requirePeers(source, target)
        if try await ledger.insert(id: id, source: source, target: target, task: body.task, status: "dispatched", idempotencyKey: nil) == nil {
            try await logDelegate(id: id, source: source, target: target, task: body.task, status: "dispatched")
            await dependencies.events.emit(EventName.delegationSent, workspaceID: source, payload: .object([
                "delegation_id": .string(id), "target_id": .string(target), "task_preview": .string(body.task.preview(100)),
            ]))
        }
        return try JSONResponse.make(["delegation_id": id, "status": "recorded"], status: .accepted)
    }

    struct UpdateBody: Decodable, Sendable {
        let status: String
        let error: String?
        let responsePreview: String?

        enum CodingKeys: String, CodingKey {
            case status, error
            case responsePreview = "response_preview"
        }
    }

    @Sendable func update(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let source = try context.workspaceID()
        try await dependencies.authenticator.requireWorkspace(request, source)
        let id = try Self.delegationID(try context.parameters.require("delegation_id"))
        let body = try await JSONRequest.decode(UpdateBody.self, request)
        guard body.status == "completed" || body.status == "failed" else {
            throw APIError.badRequest("status must be one of: completed, failed")
        }
        let owner = try await dependencies.pool.query("SELECT callee_id::text FROM public.delegations WHERE delegation_id = $1 AND caller_id = $2", [id, source])
        guard let row = owner.first else { throw APIError.notFound("delegation not found") }
        await ledger.finish(id, source: source, target: try row.decode(String.self, at: 0), completed: body.status == "completed",
                            text: body.responsePreview, error: body.error)
        return try JSONResponse.ok(["status": body.status, "delegation_id": id])
    }

    private func requirePeers(_ source: String, _ target: String) async throws {
        guard try await dependencies.workspaces.exists(target) else { throw APIError.notFound("target workspace not found") }
        guard try await PeerDirectory(pool: dependencies.pool).canCommunicate(source, target) else {
            throw APIError.forbidden("access denied: workspaces cannot communicate per hierarchy rules")
        }
    }

    private func logDelegate(id: String, source: String, target: String, task: String, status: String) async throws {
        _ = try await dependencies.activity.insert(.init(
            workspaceID: source, type: "delegation", sourceID: source, targetID: target, method: "delegate",
            summary: "Delegating to \(target)",
            requestBody: try ActivityRoutes.json(.object(["task": .string(task), "delegation_id": .string(id)])),
            responseBody: try ActivityRoutes.json(.object(["delegation_id": .string(id)])), status: status))
    }

    static func workspace(_ value: String, _ field: String) throws -> String {
        guard UUIDText.isValid(value) else { throw APIError.badRequest("\(field) must be a workspace UUID") }
        return value.lowercased()
    }

    /// Delegation ids are chosen by agents (uuid4 strings); kept short and printable.
    static func delegationID(_ value: String) throws -> String {
        guard !value.isEmpty, value.utf8.count <= 128, value.utf8.allSatisfy({ $0 > 32 && $0 < 127 }) else {
            throw APIError.badRequest("delegation_id must be 1 to 128 printable characters")
        }
        return value
    }
}
