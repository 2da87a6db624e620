import Hummingbird
import MemoryAccess
import MemoryContract
import Timestamps

/// `POST|GET /workspaces/:id/memories`: the scope-based surface agent runtimes use
/// (`a2a_tools_memory.py`), with the reference's wire shapes. Scopes map to namespaces
/// (LOCAL `workspace:<self>`, TEAM `team:<parent or self>`, GLOBAL `org:<root>`).
struct LegacyMemoryRoutes: Sendable {
    let memory: WorkspaceMemory
    let authenticator: Authenticator

    func register(on router: Router<TenantRequestContext>) {
        router.post("/workspaces/:id/memories", use: commit)
        router.get("/workspaces/:id/memories", use: recall)
    }

    /// Read from the parsed members rather than through JSONDecoder (the hot path), with
    /// the messages the Decodable version gave: first problem in field order.
    struct CommitBody {
        let content: String
        let scope: String
        /// The reference's free-form category tag (default "general"), kept with the memory.
        let namespace: String?
        /// The runtime repeats its workspace id; it must be the path's.
        let workspaceID: String?

        static let fields: Set<String> = ["content", "scope", "namespace", "workspace_id"]

        init(_ object: [String: JSONValue]) throws {
            content = try Self.required("content", object)
            scope = try Self.required("scope", object)
            namespace = try Self.optional("namespace", object)
            workspaceID = try Self.optional("workspace_id", object)
        }

        static func decode(_ request: Request) async throws -> CommitBody {
            let bytes = try await JSONRequest.body(request)
            guard !bytes.isEmpty else { throw APIError.badRequest("request body is empty: expected a JSON object") }
            return try CommitBody(bytes.withUnsafeBytes { try JSONRequest.object($0, allowed: fields) })
        }

        private static func required(_ key: String, _ object: [String: JSONValue]) throws -> String {
            guard let value = object[key] else { throw APIError.badRequest("\(key) is required") }
            guard case .string(let text) = value else { throw APIError.badRequest("\(key) has the wrong type") }
            return text
        }

        private static func optional(_ key: String, _ object: [String: JSONValue]) throws -> String? {
            switch object[key] {
            case nil, .null?: return nil
            case .string(let text)?: return text
            default: throw APIError.badRequest("\(key) has the wrong type")
            }
        }
    }

    /// The commit's reply, `{"id","scope","namespace"}`, written directly: every commit answers one.
    static func committedJSON(id: String, scope: MemoryScope, tag: String) -> [UInt8] {
        var writer = JSONWriter(capacity: 96 + tag.utf8.count)
        writer.raw("{")
        writer.key("id", first: true)
        writer.string(id)
        writer.key("scope")
        writer.string(scope.rawValue)
        writer.key("namespace")
        writer.string(tag)
        writer.raw("}")
        return writer.bytes
    }

    static let defaultTag = "general"

    @Sendable func commit(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        let access = try await authenticator.requireWorkspaceAccess(request, id)
        let caller = access.caller
        let body = try await CommitBody.decode(request)
        try Self.requireSameWorkspace(body.workspaceID, id)
        let scope: MemoryScope
        do {
            scope = try NamespaceResolver.scope(body.scope)
        } catch {
            throw APIError.access(error)
        }
        let tag = body.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultTag
        guard tag.count <= 50 else { throw APIError.badRequest("namespace must be <= 50 characters") }
        try WorkspaceMemory.validateContent(body.content)
        let resolver = try await access.placement().resolver
        let namespace: String
        do {
            namespace = try resolver.writeNamespace(for: scope)
        } catch {
            throw APIError.access(error)
        }
        var propagation: [String: JSONValue]?
        if tag != Self.defaultTag { propagation = ["legacy": .object(["scope": .string(scope.rawValue), "namespace": .string(tag)])] }
        let write = MemoryWrite(content: body.content, kind: .fact, source: caller == .admin ? .user : .agent, propagation: propagation)
        let written = try await memory.commit(write, into: namespace, by: resolver, logger: context.logger)
        return JSONResponse.raw(Self.committedJSON(id: written.id, scope: scope, tag: tag), status: .created)
    }

    /// The recalled memories in the legacy shape, `[{"id","content","scope","created_at"}]`;
    /// org memories arrive wrapped for agents. Written directly rather than through
    /// JSONEncoder: every recall answers up to 100 of them.
    static func recalledJSON(_ memories: [Memory]) -> [UInt8] {
        var writer = JSONWriter(capacity: 64 + memories.reduce(0) { $0 + $1.content.utf8.count + 160 })
        writer.array(memories) { writer, memory in
            writer.raw("{")
            writer.key("id", first: true)
            writer.string(memory.id)
            writer.key("content")
            writer.string(OrgMemory.present(memory))
            writer.key("scope")
            writer.string(MemoryScope(namespace: memory.namespace)?.rawValue ?? "")
            writer.key("created_at")
            writer.string(String(memory.createdAt.rfc3339.prefix(19)) + "Z")
            writer.raw("}")
        }
        return writer.bytes
    }

    static let defaultLimit = 50

    /// Unlike the reference, honours `q` (search) and `scope` (one namespace).
    @Sendable func recall(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        let access = try await authenticator.requireWorkspaceAccess(request, id)
        try Self.requireSameWorkspace(request.query("workspace_id"), id)
        let limit = try MemoryQuery.limit(request.query("limit"), default: Self.defaultLimit)
        let resolver = try await access.placement().resolver
        var namespaces: [String] = []
        if let text = request.query("scope") {
            do {
                namespaces = [resolver.readNamespace(for: try NamespaceResolver.scope(text.uppercased()))]
            } catch {
                throw APIError.access(error)
            }
        }
        let found = try await memory.search(namespaces, query: request.query("q"), limit: limit, by: resolver)
        return JSONResponse.raw(Self.recalledJSON(found), status: .ok)
    }

    static func requireSameWorkspace(_ claimed: String?, _ id: String) throws {
        guard let claimed, !claimed.isEmpty else { return }
        guard claimed.lowercased() == id else { throw APIError.forbidden("workspace_id does not match the workspace in the path") }
    }
}

/// Query parameters the memory routes share.
enum MemoryQuery {
    /// The plugin answers at most 100 memories per search.
    static let maxLimit = 100

    /// `limit`: a positive integer, capped at 100; absent means `default`.
    static func limit(_ text: String?, default value: Int) throws -> Int {
        guard let text else { return value }
        guard let limit = Int(text), limit > 0 else { throw APIError.badRequest("limit must be a positive integer") }
        return min(limit, maxLimit)
    }
}
