import Hummingbird
import Logging
import MemoryContract
import Postgres

/// What a runtime calls to join and stay alive: register, heartbeat, update-card.
struct RegistryRoutes: Sendable {
    let dependencies: ServerDependencies
    private var pool: PostgresPool { dependencies.pool }

    func register(on router: Router<TenantRequestContext>) {
        router.post("/registry/register", use: register)
        router.post("/registry/heartbeat", use: heartbeat)
        router.post("/registry/update-card", use: updateCard)
    }

    /// Registers a workspace an admin created. While it has no live token the call
    /// needs none and mints one (its only way to get one unless the create reply
    /// carried it); afterwards the bearer must be a token of this workspace.
    @Sendable func register(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let body = try await JSONRequest.decode(RegisterBody.self, request)
        guard UUIDText.isValid(body.id) else { throw APIError.badRequest("id must be a workspace UUID") }
        let id = body.id.lowercased()
        let requestedMode = try DeliveryMode.validate(body.deliveryMode)
        let card = try JSONValue.agentCard(body.agentCard)
        let bearer = BearerToken.from(request)
        // The row lock serialises concurrent bootstrap registers, so at most one mints.
        let outcome = try await pool.transaction { session -> (mode: String, token: IssuedToken?) in
            let row = try await session.query("""
                SELECT delivery_mode, runtime FROM public.workspaces
                WHERE id = $1 AND status IS DISTINCT FROM 'removed' FOR UPDATE
                """, [id])
            guard let current = row.first else {
                throw APIError.notFound("workspace not found: an admin creates workspaces (POST /workspaces) before they register")
            }
            if try await dependencies.tokens.hasLiveToken(id, on: session) {
                guard let bearer else { throw APIError.unauthorized("missing workspace auth token") }
                let owner = try await session.query("""
                    SELECT 1 FROM public.workspace_auth_tokens
                    WHERE token_hash = $1 AND workspace_id = $2 AND revoked_at IS NULL
                    """, [PostgresBytes(SHA256Token.hash(bearer)), id])
                guard !owner.isEmpty else { throw APIError.unauthorized("invalid workspace auth token") }
            }
            let mode = try requestedMode ?? current.decode(String.self, at: 0)
            let url = body.url.flatMap { $0.isEmpty ? nil : $0 }
            if mode == DeliveryMode.push {
                guard let url else { throw APIError.badRequest("url is required for push-mode workspaces") }
                try await dependencies.urlGuard.check(url)
            }
            try await session.query("""
                UPDATE public.workspaces SET url = $2, agent_card = COALESCE($3::jsonb, agent_card), status = 'online',
                    last_heartbeat_at = now(), delivery_mode = $4, updated_at = now()
                WHERE id = $1
                """, [id, url, card, mode])
            let hasToken = try await dependencies.tokens.hasLiveToken(id, on: session)
            let token = hasToken ? nil : try await dependencies.tokens.issue(for: id, on: session).token
            return (mode, token)
        }
        await dependencies.liveness.refresh(id, logger: context.logger)
        await dependencies.liveness.publish(.init(workspaceID: id, status: WorkspaceStatus.online.rawValue, previous: nil), logger: context.logger)
        let secret = try await dependencies.workspaces.inboundSecret(id)
        var metadata: Logger.Metadata = ["workspace_id": "\(id)", "delivery_mode": "\(outcome.mode)"]
        if let token = outcome.token { metadata["token_prefix"] = "\(token.prefix)" }
        context.logger.info("workspace registered", metadata: metadata)
        return try JSONResponse.ok(RegisterReply(deliveryMode: outcome.mode, authToken: outcome.token?.plaintext, platformInboundSecret: secret))
    }

    @Sendable func heartbeat(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let body = try await JSONRequest.decode(HeartbeatBody.self, request)
        guard UUIDText.isValid(body.workspaceID) else { throw APIError.badRequest("workspace_id must be a workspace UUID") }
        let id = body.workspaceID.lowercased()
        try await dependencies.authenticator.requireWorkspaceToken(request, id)
        let errorRate = body.errorRate ?? 0
        guard errorRate.isFinite, (0...1).contains(errorRate) else { throw APIError.badRequest("error_rate must be between 0 and 1") }
        let card = try JSONValue.agentCard(body.agentCard)
        let (previous, next) = try await pool.transaction { session -> (String, String?) in
            let row = try await session.query(
                "SELECT status::text FROM public.workspaces WHERE id = $1 AND status IS DISTINCT FROM 'removed' FOR UPDATE", [id])
            guard let current = try row.first?.decode(String.self, at: 0) else { throw APIError.notFound("workspace not found") }
            let next = HeartbeatTransition.next(from: current, errorRate: errorRate, runtimeState: body.runtimeState ?? "")
            try await session.query("""
                UPDATE public.workspaces SET last_heartbeat_at = now(), last_error_rate = $2, last_sample_error = $3,
                    active_tasks = $4, uptime_seconds = $5, current_task = $6,
                    agent_card = COALESCE(agent_card, $7::jsonb),
                    status = COALESCE($8::public.workspace_status, status), updated_at = now()
                WHERE id = $1
                """, [id, errorRate, body.sampleError, max(body.activeTasks ?? 0, 0), max(body.uptimeSeconds ?? 0, 0),
                      body.currentTask ?? "", card, next])
            return (current, next)
        }
        await dependencies.liveness.refresh(id, logger: context.logger)
        if let next {
            await dependencies.liveness.publish(.init(workspaceID: id, status: next, previous: previous), logger: context.logger)
        }
        let secret = try await dependencies.workspaces.inboundSecret(id)
        return try JSONResponse.ok(HeartbeatReply(workspaceStatus: next ?? previous, platformInboundSecret: secret))
    }

    @Sendable func updateCard(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let body = try await JSONRequest.decode(UpdateCardBody.self, request)
        guard UUIDText.isValid(body.workspaceID) else { throw APIError.badRequest("workspace_id must be a workspace UUID") }
        let id = body.workspaceID.lowercased()
        try await dependencies.authenticator.requireWorkspaceToken(request, id)
        guard let card = try JSONValue.agentCard(body.agentCard) else { throw APIError.badRequest("agent_card must be a JSON object") }
        let result = try await pool.query("""
            UPDATE public.workspaces SET agent_card = $2::jsonb, updated_at = now()
            WHERE id = $1 AND status IS DISTINCT FROM 'removed'
            """, [id, card])
        guard result.affectedRows > 0 else { throw APIError.notFound("workspace not found") }
        return try JSONResponse.ok(["status": "updated"])
    }
}
