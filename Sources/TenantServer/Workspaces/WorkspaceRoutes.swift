import Hummingbird
import Logging
import MemoryContract
import Postgres

/// Workspace lifecycle: admin create, list, patch and delete; the public read.
struct WorkspaceRoutes: Sendable {
    let dependencies: ServerDependencies
    private var auth: Authenticator { dependencies.authenticator }
    private var store: WorkspaceStore { dependencies.workspaces }

    func register(on router: Router<TenantRequestContext>) {
        router.post("/workspaces", use: create)
        router.get("/workspaces", use: list)
        router.get("/workspaces/:id", use: get)
        router.patch("/workspaces/:id", use: patch)
        router.delete("/workspaces/:id", use: delete)
    }

    @Sendable func create(_ request: Request, context: TenantRequestContext) async throws -> Response {
        try await auth.requireAdmin(request)
        let body = try await JSONRequest.decode(CreateWorkspaceBody.self, request)
        let name = body.name.trimmed(of: " \t\n")
        guard !name.isEmpty else { throw APIError.badRequest("name is required") }
        guard name.utf8.count <= 256 else { throw APIError.badRequest("name is longer than 256 bytes") }
        if let tier = body.tier, !(0...10).contains(tier) { throw APIError.badRequest("tier must be between 0 and 10") }
        let runtime = body.runtime.flatMap { $0.isEmpty ? nil : $0 } ?? WorkspaceRuntime.defaultRuntime
        guard runtime.utf8.count <= 64 else { throw APIError.badRequest("runtime is longer than 64 bytes") }
        let isExternal = runtime == WorkspaceRuntime.external
        if let url = body.url, !url.isEmpty { try await dependencies.urlGuard.check(url) }
        let parentID = try body.parentID.flatMap { parent -> String? in
            guard !parent.isEmpty else { return nil }
            guard UUIDText.isValid(parent) else { throw APIError.badRequest("parent_id must be a workspace UUID") }
            return parent.lowercased()
        }
        let deliveryMode = try DeliveryMode.validate(body.deliveryMode) ?? (isExternal ? DeliveryMode.poll : DeliveryMode.push)
        let new = WorkspaceStore.NewWorkspace(
            name: name, role: body.role, tier: body.tier ?? 1, runtime: runtime, parentID: parentID,
            url: body.url.flatMap { $0.isEmpty ? nil : $0 }, deliveryMode: deliveryMode,
            status: isExternal ? .awaitingAgent : .provisioning)
        let (view, token) = try await dependencies.pool.transaction { session in
            if let parentID, try await !store.exists(parentID, on: session) {
                throw APIError.badRequest("parent_id \(parentID) is not a workspace")
            }
            let view = try await store.create(new, on: session)
            let token = isExternal ? try await dependencies.tokens.issue(for: view.id, on: session).token : nil
            return (view, token)
        }
        context.logger.info("workspace created", metadata: ["workspace_id": "\(view.id)", "runtime": "\(runtime)"])
        let connection = token.map {
            ExternalConnection(platformURL: PlatformURL.resolve(dependencies.publicURL, request), workspaceID: view.id, authToken: $0.plaintext)
        }
        return try JSONResponse.make(CreatedWorkspace(workspace: view, connection: connection), status: .created)
    }

    @Sendable func list(_ request: Request, context: TenantRequestContext) async throws -> Response {
        try await auth.requireAdmin(request)
        return try JSONResponse.ok(try await store.list())
    }

    /// Public, as in the reference (canvas nodes poll it without a token): the view
    /// carries no secrets.
    @Sendable func get(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        guard let view = try await store.find(id) else { throw APIError.notFound("workspace not found") }
        return try JSONResponse.ok(view)
    }

    @Sendable func patch(_ request: Request, context: TenantRequestContext) async throws -> Response {
        try await auth.requireAdmin(request)
        let id = try context.workspaceID()
        let body = try await JSONRequest.decode(PatchWorkspaceBody.self, request)
        try await dependencies.pool.transaction { session in
            guard try await store.exists(id, on: session) else { throw APIError.notFound("workspace not found") }
            switch body.name {
            case .absent: break
            case .null: throw APIError.badRequest("name cannot be null")
            case .value(let name):
                let trimmed = name.trimmed(of: " \t\n")
                guard !trimmed.isEmpty, trimmed.utf8.count <= 256 else { throw APIError.badRequest("name must be 1 to 256 bytes") }
                try await store.rename(id, to: trimmed, on: session)
            }
            switch body.parentID {
            case .absent: break
            case .null: try await store.reparent(id, to: nil, on: session)
            case .value(let parent):
                guard UUIDText.isValid(parent) else { throw APIError.badRequest("parent_id must be a workspace UUID") }
                let parentID = parent.lowercased()
                guard try await store.exists(parentID, on: session) else { throw APIError.badRequest("parent_id \(parentID) is not a workspace") }
                guard try await !store.isSelfOrDescendant(parentID, of: id, on: session) else {
                    throw APIError.badRequest("parent_id would make a cycle: it is this workspace or one of its descendants")
                }
                try await store.reparent(id, to: parentID, on: session)
            }
        }
        // Names and parents are part of the placements the token cache holds.
        await dependencies.tokenCacheInvalidation.announce("workspace changed")
        guard let view = try await store.find(id) else { throw APIError.notFound("workspace not found") }
        return try JSONResponse.ok(view)
    }

    @Sendable func delete(_ request: Request, context: TenantRequestContext) async throws -> Response {
        try await auth.requireAdmin(request)
        let id = try context.workspaceID()
        let removed = try await dependencies.pool.transaction { session in
            guard try await store.exists(id, on: session) else { throw APIError.notFound("workspace not found") }
            return try await store.remove(id, on: session)
        }
        await dependencies.tokenCacheInvalidation.announce("workspace removed")
        for workspaceID in removed { await dependencies.liveness.forget(workspaceID, logger: context.logger) }
        context.logger.info("workspace removed", metadata: ["workspace_id": "\(id)", "subtree": "\(removed.count)"])
        return try JSONResponse.ok(RemovedReply(status: "removed", removed: removed))
    }

    struct RemovedReply: Encodable {
        let status: String
        let removed: [String]
    }
}
