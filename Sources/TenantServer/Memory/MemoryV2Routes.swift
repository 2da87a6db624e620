import Hummingbird
import MemoryAccess
import MemoryContract
import Timestamps

/// `/workspaces/:id/v2/...`: the namespace-based reads and forget the canvas uses, with
/// the reference's shapes. Requests are always intersected with what the workspace may
/// read, so a stale or foreign namespace yields `[]`, never someone else's memories.
struct MemoryV2Routes: Sendable {
    let memory: WorkspaceMemory
    let authenticator: Authenticator

    func register(on router: Router<TenantRequestContext>) {
        router.get("/workspaces/:id/v2/namespaces", use: namespaces)
        router.get("/workspaces/:id/v2/memories", use: search)
        router.delete("/workspaces/:id/v2/memories/:memoryId", use: forget)
    }

    struct NamespaceView: Encodable {
        let name: String
        let kind: NamespaceKind
        let label: String
    }

    struct Namespaces: Encodable {
        let readable: [NamespaceView]
        let writable: [NamespaceView]
    }

    @Sendable func namespaces(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        let access = try await authenticator.requireWorkspaceAccess(request, id)
        let placement = try await access.placement()
        let grants = placement.resolver.grants
        let views = grants.map { NamespaceView(name: $0.name, kind: $0.kind, label: Self.label($0, placement)) }
        return try JSONResponse.ok(Namespaces(readable: views, writable: zip(grants, views).filter { $0.0.writable }.map(\.1)))
    }

    /// "Workspace (name)", "Team (parent's name)", "Org (root's name)".
    static func label(_ grant: NamespaceGrant, _ placement: WorkspaceLineageStore.Placement) -> String {
        switch grant.scope {
        case .local: "Workspace (\(placement.name))"
        case .team: "Team (\(placement.parentName ?? placement.name))"
        case .global: "Org (\(placement.rootName))"
        }
    }

    /// A memory as the canvas shows it.
    struct MemoryView: Encodable {
        let id: String
        let namespace: String
        let content: String
        let kind: MemoryKind
        let source: MemorySource
        let pin: Bool
        let expiresAt: Timestamp?
        let createdAt: Timestamp
        let score: Double?
        let sourceWorkspaceID: String?

        enum CodingKeys: String, CodingKey {
            case id, namespace, content, kind, source, pin, score
            case expiresAt = "expires_at"
            case createdAt = "created_at"
            case sourceWorkspaceID = "source_workspace_id"
        }

        init(_ memory: Memory) {
            id = memory.id
            namespace = memory.namespace
            content = memory.content
            kind = memory.kind
            source = memory.source
            pin = memory.pin
            expiresAt = memory.expiresAt
            createdAt = memory.createdAt
            score = memory.score
            if case .string(let source)? = memory.propagation?["source_workspace_id"], !source.isEmpty {
                sourceWorkspaceID = source
            } else {
                sourceWorkspaceID = nil
            }
        }
    }

    struct Memories: Encodable {
        let memories: [MemoryView]
    }

    /// `namespace` (one readable namespace, else all), `q`, `kind`, `limit` (default 50, at most 100).
    @Sendable func search(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        let access = try await authenticator.requireWorkspaceAccess(request, id)
        let limit = try MemoryQuery.limit(request.query("limit"), default: 50)
        var kinds: [MemoryKind]?
        if let kind = request.query("kind") {
            guard let parsed = MemoryKind(rawValue: kind) else {
                throw APIError.badRequest("kind must be one of: \(MemoryKind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            kinds = [parsed]
        }
        let resolver = try await access.placement().resolver
        var requested: [String] = []
        if let namespace = request.query("namespace") {
            // A namespace this workspace cannot read answers [] rather than 403: the
            // canvas builds its list from /v2/namespaces, so this is a stale list.
            guard resolver.canRead(namespace) else { return try JSONResponse.ok(Memories(memories: [])) }
            requested = [namespace]
        }
        let found = try await memory.search(requested, query: request.query("q"), kinds: kinds, limit: limit, by: resolver)
        return try JSONResponse.ok(Memories(memories: found.map(MemoryView.init)))
    }

    struct Deleted: Encodable {
        let status = "deleted"
    }

    /// Forgets a memory of this workspace's namespace, or of `?namespace=` when the
    /// workspace may write there (its team, or the org from a root).
    @Sendable func forget(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        let access = try await authenticator.requireWorkspaceAccess(request, id)
        let memoryID = try context.parameters.require("memoryId")
        let resolver = try await access.placement().resolver
        try await memory.forget(memoryID, in: request.query("namespace") ?? resolver.workspaceNamespace, by: resolver)
        return try JSONResponse.ok(Deleted())
    }
}
