import HTTPTypes
import Logging
import MemoryAccess
import MemoryContract
import MemoryPluginClient
import Postgres

/// The memory operations a workspace may perform, shared by the HTTP routes and the MCP
/// tools so both keep the same rules: the namespace ACL derived from the workspace's
/// placement (read with the caller's token; a cached one is never older than AUTH_CACHE_TTL),
/// secrets redacted before every write, org writes escaped and audited. The plugin is the
/// only store; its failures surface as `APIError` (503 when it is unreachable).
struct WorkspaceMemory: Sendable {
    let plugin: MemoryPluginClient
    let activity: ActivityStore
    let redactor = MemoryRedactor()

    /// The contract's content cap; checked here so an oversized write costs no round trip.
    static let maxContentBytes = 100_000

    init(plugin: MemoryPluginClient, pool: PostgresPool) {
        self.plugin = plugin
        activity = ActivityStore(pool: pool)
    }

    /// Checks content the way the plugin would, before anything is sent.
    static func validateContent(_ content: String, field: String = "content") throws {
        guard content.contains(where: { !$0.isWhitespace }) else { throw APIError.badRequest("\(field) is required and must not be blank") }
        guard content.utf8.count <= maxContentBytes else {
            throw APIError(.contentTooLarge, code: "too_large", "\(field) is \(content.utf8.count) bytes; the limit is \(maxContentBytes)")
        }
    }

    /// Redacts secrets (logging only which kinds fired) and, for org namespaces, escapes
    /// the delimiter agents read org memory inside.
    func prepare(_ content: String, namespace: String, workspaceID: String, logger: Logger) -> String {
        let redaction = redactor.redact(content)
        if redaction.changed {
            logger.notice("memory write redacted", metadata: [
                "workspace_id": "\(workspaceID)", "kinds": "\(redaction.kinds.map(\.rawValue).joined(separator: ","))",
            ])
        }
        return OrgMemory.isOrgNamespace(namespace) ? OrgMemory.escapeDelimiters(redaction.text) : redaction.text
    }

    /// Writes into a namespace the workspace may write; 403 otherwise.
    func commit(
        _ write: MemoryWrite, into namespace: String, by resolver: NamespaceResolver, logger: Logger
    ) async throws -> MemoryWriteResponse {
        do {
            try resolver.requireWritable(namespace)
        } catch {
            throw APIError.access(error)
        }
        let workspaceID = resolver.lineage.workspaceID
        try Self.validateContent(write.content)
        var prepared = write
        prepared.content = prepare(write.content, namespace: namespace, workspaceID: workspaceID, logger: logger)
        let written = try await pluginCall { () async throws(MemoryPluginClientError) in try await plugin.commit(namespace: namespace, write: prepared) }
        if OrgMemory.isOrgNamespace(namespace) {
            await audit(orgWrite: written, content: prepared.content, workspaceID: workspaceID, logger: logger)
        }
        return written
    }

    /// Records an org write with the SHA-256 of what was stored, never the content. A
    /// failed audit is logged and does not undo the write (the reference does the same).
    func audit(orgWrite written: MemoryWriteResponse, content: String, workspaceID: String, logger: Logger) async {
        let body: JSONValue = .object([
            "memory_id": .string(written.id), "namespace": .string(written.namespace),
            "content_sha256": .string(OrgMemory.auditDigest(content)),
        ])
        do {
            _ = try await activity.insert(.init(
                workspaceID: workspaceID, type: Self.orgAuditType, sourceID: workspaceID, targetID: nil, method: "memory.org_write",
                summary: "org memory written: id=\(written.id) namespace=\(written.namespace)",
                requestBody: try ActivityRoutes.json(body), responseBody: nil, durationMs: nil, status: "ok", errorDetail: nil))
        } catch {
            logger.error("org memory audit failed", metadata: ["workspace_id": "\(workspaceID)", "memory_id": "\(written.id)"])
        }
    }

    /// The activity type of org-write audit rows (the reference's name for GLOBAL writes).
    static let orgAuditType = "memory_write_global"

    /// Searches the readable namespaces among `namespaces` (all readable ones when empty).
    /// Namespaces the workspace cannot read are dropped, never an error, so nothing about
    /// them leaks; nothing readable left means `[]` without a call.
    func search(
        _ namespaces: [String], query: String?, kinds: [MemoryKind]? = nil, limit: Int?, by resolver: NamespaceResolver
    ) async throws -> [Memory] {
        let allowed = resolver.intersectReadable(namespaces)
        guard !allowed.isEmpty else { return [] }
        let request = SearchRequest(namespaces: allowed, query: query, kinds: kinds, limit: limit)
        return try await pluginCall { () async throws(MemoryPluginClientError) in try await plugin.search(request) }
    }

    /// Deletes a memory that lives in `namespace`, which the workspace must be able to
    /// write. A memory that is not there is 404, whoever owns it.
    func forget(_ memoryID: String, in namespace: String, by resolver: NamespaceResolver) async throws {
        guard UUIDText.isValid(memoryID) else { throw APIError.badRequest("memory id must be a UUID") }
        do {
            try resolver.requireWritable(namespace)
        } catch {
            throw APIError.access(error)
        }
        do {
            try await plugin.forget(id: memoryID.lowercased(), requestedBy: namespace)
        } catch {
            if case .rejected(let refusal) = error, refusal.status == 404 || refusal.status == 403 {
                throw APIError.notFound("memory not found")
            }
            throw APIError.memory(error)
        }
    }
}
