import FoundationEssentials
import Hummingbird
import MemoryAccess
import MemoryContract
import MemoryPluginClient
import NIOCore
import Postgres
import TenantCrypto
import Timestamps

/// `GET /admin/memories/export` and `POST /admin/memories/import`: every agent memory
/// out and back in, for backups and moves, in the reference's entry shape. Export pages
/// through each namespace with the plugin's cursor listing (no 100-row cap); import goes
/// through the plugin's batch route, is idempotent by id and keeps `created_at`.
struct AdminMemoryRoutes: Sendable {
    let memory: WorkspaceMemory
    let authenticator: Authenticator
    let pool: PostgresPool

    func register(on router: Router<TenantRequestContext>) {
        router.get("/admin/memories/export", use: export)
        router.post("/admin/memories/import", use: importMemories)
    }

    /// One memory in a dump. `workspace_name` lets a dump be restored after workspaces
    /// were re-created under new ids.
    struct Entry: Codable {
        var id: String?
        var content: String
        var scope: String?
        var namespace: String?
        var kind: String?
        var createdAt: String?
        var workspaceName: String?
        var workspaceID: String?

        enum CodingKeys: String, CodingKey {
            case id, content, scope, namespace, kind
            case createdAt = "created_at"
            case workspaceName = "workspace_name"
            case workspaceID = "workspace_id"
        }

        static let fields: Set<String> = Set(["id", "content", "scope", "namespace", "kind", "created_at", "workspace_name", "workspace_id"])
    }

    // MARK: - Export

    @Sendable func export(_ request: Request, context: TenantRequestContext) async throws -> Response {
        try await authenticator.requireAdmin(request)
        let owners = Self.namespaceOwners(try await WorkspaceTree.load(pool))
        var entries: [Entry] = []
        for namespace in owners.keys.sorted() {
            let owner = owners[namespace]!
            var cursor: String?
            repeat {
                let page: MemoryPage
                do {
                    page = try await memory.plugin.page(namespace: namespace, after: cursor, limit: 1000)
                } catch {
                    // A namespace nobody has written yet does not exist in the plugin.
                    if case .rejected(let refusal) = error, refusal.status == 404 { break }
                    throw APIError.memory(error)
                }
                for found in page.memories where found.kind != .kv {
                    entries.append(Entry(
                        id: found.id, content: memory.redactor.redact(found.content).text,
                        scope: MemoryScope(namespace: found.namespace)?.rawValue ?? "", namespace: found.namespace,
                        kind: found.kind.rawValue, createdAt: found.createdAt.rfc3339,
                        workspaceName: owner.name, workspaceID: owner.id))
                }
                cursor = page.nextCursor
            } while cursor != nil
        }
        return try JSONResponse.ok(entries)
    }

    /// Every namespace a workspace tree can hold, with the workspace it belongs to:
    /// `workspace:<id>` its own, `team:<id>` the team's lead, `org:<root>` the root.
    static func namespaceOwners(_ tree: WorkspaceTree) -> [String: WorkspaceTree.Node] {
        var owners: [String: WorkspaceTree.Node] = [:]
        for node in tree.nodes.values {
            let resolver = NamespaceResolver(lineage: node.lineage)
            owners[resolver.workspaceNamespace] = node
            owners[resolver.teamNamespace] = tree.nodes[node.lineage.parentID ?? node.id] ?? node
            owners[resolver.orgNamespace] = tree.nodes[node.lineage.rootID] ?? node
        }
        return owners
    }

    // MARK: - Import

    /// Dumps are larger than ordinary requests: this route reads up to 32 MiB.
    static let maxImportBytes = 32 << 20
    /// Items per plugin batch call. The plugin takes up to 1000, but each call must finish
    /// within MEMORY_PLUGIN_TIMEOUT (2 s by default) even on a busy host; a dump of any
    /// size is simply more calls.
    static let batchSize = 200

    struct Outcome: Encodable {
        var imported = 0
        var unchanged = 0
        var skipped = 0
        var errors = 0
        var total = 0
        /// The first problems, by index into the request; never content.
        var problems: [Problem] = []

        struct Problem: Encodable {
            let index: Int
            let reason: String
        }

        mutating func note(_ index: Int, _ reason: String, skipped isSkip: Bool) {
            if isSkip { skipped += 1 } else { errors += 1 }
            if problems.count < 50 { problems.append(Problem(index: index, reason: reason)) }
        }
    }

    /// An entry ready to send, with where it goes and who wrote it.
    struct Planned {
        let index: Int
        let item: BatchItem
        let workspaceID: String
    }

    @Sendable func importMemories(_ request: Request, context: TenantRequestContext) async throws -> Response {
        try await authenticator.requireAdmin(request)
        let entries = try await Self.decodeEntries(request)
        let tree = try await WorkspaceTree.load(pool)
        var outcome = Outcome(total: entries.count)
        var planned: [Planned] = []
        for (index, entry) in entries.enumerated() {
            switch plan(entry, index: index, tree: tree, context: context) {
            case .success(let item): planned.append(item)
            case .failure(let skip): outcome.note(index, skip.reason, skipped: true)
            }
        }
        var start = 0
        while start < planned.count {
            let chunk = Array(planned[start..<min(start + Self.batchSize, planned.count)])
            start += Self.batchSize
            let results = try await pluginCall { () async throws(MemoryPluginClientError) in try await memory.plugin.batch(chunk.map(\.item)) }
            for (sent, result) in zip(chunk, results) {
                switch result.status {
                case .created, .updated:
                    outcome.imported += 1
                    if let id = result.id, let namespace = sent.item.namespace, OrgMemory.isOrgNamespace(namespace),
                       case .success(let write) = sent.item.write {
                        await memory.audit(orgWrite: MemoryWriteResponse(id: id, namespace: namespace), content: write.content,
                                           workspaceID: sent.workspaceID, logger: context.logger)
                    }
                case .unchanged:
                    outcome.unchanged += 1
                case .error:
                    outcome.note(sent.index, result.error?.message ?? "rejected by the memory plugin", skipped: false)
                }
            }
        }
        return try JSONResponse.ok(outcome)
    }

    struct Skip: Error {
        let reason: String
    }

    /// Where an entry goes: its workspace (by id, else by name), the namespace of its
    /// scope there, and an id (the entry's, or one derived from what it holds, so
    /// importing the same dump twice writes nothing new).
    func plan(_ entry: Entry, index: Int, tree: WorkspaceTree, context: TenantRequestContext) -> Result<Planned, Skip> {
        guard let node = tree.find(id: entry.workspaceID, name: entry.workspaceName) else {
            return .failure(Skip(reason: "no workspace with this workspace_id or workspace_name"))
        }
        let resolver = NamespaceResolver(lineage: node.lineage)
        let namespace: String
        do {
            namespace = try resolver.writeNamespace(forScope: (entry.scope ?? "").isEmpty ? "LOCAL" : entry.scope!.uppercased())
        } catch {
            return .failure(Skip(reason: error.description))
        }
        guard let kind = MemoryKind(rawValue: entry.kind ?? "fact"), kind != .kv else {
            return .failure(Skip(reason: "kind must be fact, summary or checkpoint"))
        }
        var createdAt: Timestamp?
        if let text = entry.createdAt, !text.isEmpty {
            guard let stamp = Timestamp(rfc3339: text) else { return .failure(Skip(reason: "created_at is not an RFC 3339 time")) }
            createdAt = stamp
        }
        do {
            try WorkspaceMemory.validateContent(entry.content)
        } catch let error as APIError {
            return .failure(Skip(reason: error.message))
        } catch {
            return .failure(Skip(reason: "content is not valid"))
        }
        let content = memory.prepare(entry.content, namespace: namespace, workspaceID: node.id, logger: context.logger)
        let id: String
        if let given = entry.id, !given.isEmpty {
            guard UUIDText.isValid(given) else { return .failure(Skip(reason: "id must be a UUID")) }
            id = given.lowercased()
        } else {
            id = Self.derivedID(namespace: namespace, content: content, createdAt: createdAt)
        }
        let write = MemoryWrite(id: id, content: content, kind: kind, source: .user, createdAt: createdAt)
        return .success(Planned(index: index, item: BatchItem(namespace: namespace, write: write), workspaceID: node.id))
    }

    /// A UUID (version 8 layout) from the SHA-256 of what the memory holds.
    static func derivedID(namespace: String, content: String, createdAt: Timestamp?) -> String {
        var bytes = SHA256.hash(Array("\(namespace)\u{0}\(content)\u{0}\(createdAt?.rfc3339 ?? "")".utf8)).prefix(16).map { $0 }
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = Hex.encode(bytes)
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return parts.joined(separator: "-")
    }

    /// A JSON array of entries; a malformed entry fails the request with its index.
    static func decodeEntries(_ request: Request) async throws -> [Entry] {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxImportBytes)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, code: "too_large", "import body is larger than \(maxImportBytes) bytes; split the dump")
        }
        guard buffer.readableBytes > 0 else { throw APIError.badRequest("request body is empty: expected a JSON array of memories") }
        let items: [JSONValue]
        do {
            items = try JSONDecoder().decode([JSONValue].self, from: Data(buffer.readableBytesView))
        } catch {
            throw APIError.badRequest("body must be a JSON array of memories")
        }
        return try items.enumerated().map { index, item in
            guard case .object(let fields) = item else { throw APIError.badRequest("[\(index)] must be a JSON object") }
            try JSONRequest.rejectUnknownKeys(fields, allowed: Entry.fields, at: "[\(index)].")
            let data = Data(try JSONResponse.encoder.encodeBytes(item))
            return try JSONRequest.decodeObject(Entry.self, data, allowed: Entry.fields, at: "[\(index)].")
        }
    }
}

/// Every workspace (removed ones too: their memories are still in a dump) with its
/// place in the tree, read in one query.
struct WorkspaceTree: Sendable {
    struct Node: Sendable {
        let id: String
        let name: String
        let lineage: WorkspaceLineage
    }

    let nodes: [String: Node]
    /// Oldest first, so a name shared by several workspaces picks the same one each time.
    let byName: [String: Node]

    static func load(_ pool: PostgresPool) async throws -> WorkspaceTree {
        let rows = try await pool.query("""
            WITH RECURSIVE chain AS (
                SELECT id, parent_id, name, created_at, id AS root_id, 0 AS depth FROM public.workspaces WHERE parent_id IS NULL
                UNION ALL
                SELECT w.id, w.parent_id, w.name, w.created_at, c.root_id, c.depth + 1
                FROM public.workspaces w JOIN chain c ON w.parent_id = c.id WHERE c.depth < 64
            )
            SELECT id::text, parent_id::text, name, root_id::text FROM chain ORDER BY created_at, id
            """).rows
        var nodes: [String: Node] = [:]
        var byName: [String: Node] = [:]
        for row in rows {
            let id = try row.decode(String.self, at: 0)
            let node = Node(id: id, name: try row.decode(String.self, at: 2), lineage: WorkspaceLineage(
                workspaceID: id, parentID: try row.decode(String?.self, at: 1), rootID: try row.decode(String.self, at: 3)))
            nodes[id] = node
            if byName[node.name] == nil { byName[node.name] = node }
        }
        return WorkspaceTree(nodes: nodes, byName: byName)
    }

    func find(id: String?, name: String?) -> Node? {
        if let id, let node = nodes[id.lowercased()] { return node }
        if let name, let node = byName[name] { return node }
        return nil
    }
}
