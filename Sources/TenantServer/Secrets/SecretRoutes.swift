import Hummingbird
import Logging
import TenantCrypto

/// Workspace secrets (`/workspaces/:id/secrets...`, the workspace's own token or an
/// admin) and tenant-wide ones (`/settings/secrets`, and `/admin/secrets` as the
/// reference keeps it, admin only). Values never appear in listings or logs.
struct SecretRoutes: Sendable {
    let dependencies: ServerDependencies
    let store: SecretStore

    init(dependencies: ServerDependencies, key: SecretsEncryptionKey?) {
        self.dependencies = dependencies
        self.store = SecretStore(pool: dependencies.pool, cipher: SecretCipher(key: key))
    }

    func register(on router: Router<TenantRequestContext>) {
        router.get("/workspaces/:id/secrets", use: list)
        router.get("/workspaces/:id/secrets/values", use: values)
        router.post("/workspaces/:id/secrets", use: set)
        router.put("/workspaces/:id/secrets", use: set)
        router.delete("/workspaces/:id/secrets/:key", use: delete)
        for base in ["/settings/secrets", "/admin/secrets"] {
            router.get(RouterPath(base), use: listGlobal)
            router.post(RouterPath(base), use: setGlobal)
            router.put(RouterPath(base), use: setGlobal)
            router.delete(RouterPath(base + "/:key"), use: deleteGlobal)
        }
    }

    struct SetBody: Decodable, Sendable {
        let key: String
        let value: String
    }

    struct Changed: Encodable {
        let status: String
        let key: String
        let scope: String?
    }

    @Sendable func list(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try await authorizedWorkspace(request, context)
        return try JSONResponse.ok(try await store.list(workspace: id))
    }

    @Sendable func values(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try await authorizedWorkspace(request, context)
        do {
            return try JSONResponse.ok(try await store.values(of: id))
        } catch let error as SecretsUndecryptable {
            context.logger.error("secrets failed to decrypt", metadata: ["workspace_id": "\(id)", "keys": "\(error.keys.joined(separator: ","))"])
            throw error.apiError
        }
    }

    @Sendable func set(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try await authorizedWorkspace(request, context)
        let body = try await JSONRequest.decode(SetBody.self, request)
        let key = try SecretName.validate(key: body.key)
        try await store.set(workspace: id, key: key, value: try SecretName.validate(value: body.value))
        context.logger.info("secret saved", metadata: ["workspace_id": "\(id)", "key": "\(key)"])
        return try JSONResponse.ok(Changed(status: "saved", key: key, scope: nil))
    }

    @Sendable func delete(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try await authorizedWorkspace(request, context)
        let key = try SecretName.validate(key: try context.parameters.require("key"))
        guard try await store.delete(workspace: id, key: key) else { throw APIError.notFound("secret not found") }
        context.logger.info("secret deleted", metadata: ["workspace_id": "\(id)", "key": "\(key)"])
        return try JSONResponse.ok(Changed(status: "deleted", key: key, scope: nil))
    }

    @Sendable func listGlobal(_ request: Request, context: TenantRequestContext) async throws -> Response {
        try await dependencies.authenticator.requireAdmin(request)
        return try JSONResponse.ok(try await store.listGlobal())
    }

    @Sendable func setGlobal(_ request: Request, context: TenantRequestContext) async throws -> Response {
        try await dependencies.authenticator.requireAdmin(request)
        let body = try await JSONRequest.decode(SetBody.self, request)
        let key = try SecretName.validate(key: body.key)
        try await store.setGlobal(key: key, value: try SecretName.validate(value: body.value))
        context.logger.info("global secret saved", metadata: ["key": "\(key)"])
        return try JSONResponse.ok(Changed(status: "saved", key: key, scope: "global"))
    }

    @Sendable func deleteGlobal(_ request: Request, context: TenantRequestContext) async throws -> Response {
        try await dependencies.authenticator.requireAdmin(request)
        let key = try SecretName.validate(key: try context.parameters.require("key"))
        guard try await store.deleteGlobal(key: key) else { throw APIError.notFound("secret not found") }
        context.logger.info("global secret deleted", metadata: ["key": "\(key)"])
        return try JSONResponse.ok(Changed(status: "deleted", key: key, scope: "global"))
    }

    private func authorizedWorkspace(_ request: Request, _ context: TenantRequestContext) async throws -> String {
        let id = try context.workspaceID()
        try await dependencies.authenticator.requireWorkspace(request, id)
        guard try await dependencies.workspaces.exists(id) else { throw APIError.notFound("workspace not found") }
        return id
    }
}
