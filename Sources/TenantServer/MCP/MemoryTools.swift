import FoundationEssentials
import Logging
import MemoryAccess
import MemoryContract
import Timestamps

/// The MCP memory tools, over the same `WorkspaceMemory` rules as the HTTP routes.
/// Each returns the text the agent reads; failures throw `APIError`. The workspace's
/// placement comes with the caller's `WorkspaceAccess` (read with the token, often from
/// the verified-token cache), so a tool call costs no database round trip of its own.
struct MemoryTools: Sendable {
    let memory: WorkspaceMemory

    /// A summary lives this long unless the caller says otherwise.
    static let summaryLifetime: Duration = .seconds(30 * 24 * 3600)

    func call(_ name: String, _ arguments: JSONValue?, access: WorkspaceAccess, logger: Logger) async throws -> String {
        switch name {
        case "commit_memory":
            let args = try ToolArguments(arguments, allowed: ["content", "scope"])
            return try await commitMemory(args, access, logger)
        case "recall_memory":
            let args = try ToolArguments(arguments, allowed: ["query", "scope"])
            return try await recallMemory(args, access)
        case "commit_memory_v2":
            let args = try ToolArguments(arguments, allowed: ["content", "namespace", "kind", "expires_at", "pin"])
            return try await commitV2(args, access, logger)
        case "search_memory":
            let args = try ToolArguments(arguments, allowed: ["query", "namespaces", "kinds", "limit"])
            return try await searchMemory(args, access)
        case "commit_summary":
            let args = try ToolArguments(arguments, allowed: ["content", "namespace", "expires_at"])
            return try await commitSummary(args, access, logger)
        case "forget_memory":
            let args = try ToolArguments(arguments, allowed: ["memory_id", "namespace"])
            return try await forget(args, access)
        case "list_writable_namespaces":
            _ = try ToolArguments(arguments, allowed: [])
            return try await namespaces(access, writableOnly: true)
        case "list_readable_namespaces":
            _ = try ToolArguments(arguments, allowed: [])
            return try await namespaces(access, writableOnly: false)
        default:
            throw APIError.notFound("unknown tool: \(name)")
        }
    }

    // MARK: - Legacy scope tools

    func commitMemory(_ args: ToolArguments, _ access: WorkspaceAccess, _ logger: Logger) async throws -> String {
        guard let content = try args.string("content") else { throw APIError.badRequest("content is required") }
        let scope = try scope(try args.string("scope") ?? "LOCAL")
        let resolver = try await access.placement().resolver
        let namespace: String
        do {
            namespace = try resolver.writeNamespace(for: scope)
        } catch {
            throw APIError.access(error)
        }
        let written = try await memory.commit(MemoryWrite(content: content, kind: .fact, source: .agent),
                                              into: namespace, by: resolver, logger: logger)
        return try Self.json(JSONValue.object(["id": .string(written.id), "scope": .string(scope.rawValue)]))
    }

    /// Empty scope: everything readable; TEAM: this workspace and its team, as the
    /// reference's MCP bridge reads it.
    func recallMemory(_ args: ToolArguments, _ access: WorkspaceAccess) async throws -> String {
        let resolver = try await access.placement().resolver
        var namespaces: [String] = []
        if let text = try args.string("scope") {
            switch try scope(text) {
            case .local: namespaces = [resolver.workspaceNamespace]
            case .team: namespaces = [resolver.workspaceNamespace, resolver.teamNamespace]
            case .global: namespaces = [resolver.orgNamespace]
            }
        }
        let found = try await memory.search(namespaces, query: try args.string("query"), limit: 50, by: resolver)
        guard !found.isEmpty else { return "No memories found." }
        let entries: [JSONValue] = found.map { item in
            .object([
                "id": .string(item.id), "content": .string(OrgMemory.present(item)),
                "scope": .string(MemoryScope(namespace: item.namespace)?.rawValue ?? ""),
                "created_at": .string(String(item.createdAt.rfc3339.prefix(19)) + "Z"),
            ])
        }
        return try Self.json(JSONValue.array(entries), pretty: true)
    }

    private func scope(_ text: String) throws -> MemoryScope {
        do {
            return try NamespaceResolver.scope(text.uppercased())
        } catch {
            throw APIError.access(error)
        }
    }

    // MARK: - Namespace tools

    func commitV2(_ args: ToolArguments, _ access: WorkspaceAccess, _ logger: Logger) async throws -> String {
        guard let content = try args.string("content") else { throw APIError.badRequest("content is required") }
        let kindText = try args.string("kind") ?? MemoryKind.fact.rawValue
        guard let kind = MemoryKind(rawValue: kindText), kind != .kv else {
            throw APIError.badRequest("kind must be fact, summary or checkpoint")
        }
        let resolver = try await access.placement().resolver
        let write = MemoryWrite(content: content, kind: kind, source: .agent, expiresAt: try expiry(args), pin: try args.bool("pin"))
        let written = try await memory.commit(write, into: try args.string("namespace") ?? resolver.workspaceNamespace, by: resolver, logger: logger)
        return try Self.json(written)
    }

    func commitSummary(_ args: ToolArguments, _ access: WorkspaceAccess, _ logger: Logger) async throws -> String {
        guard let content = try args.string("content") else { throw APIError.badRequest("content is required") }
        let resolver = try await access.placement().resolver
        let now = Timestamp.now()
        let lifetime = Self.summaryLifetime.components.seconds * 1_000_000
        let expiresAt = try expiry(args) ?? Timestamp(microseconds: now.microseconds + lifetime)
        let write = MemoryWrite(content: content, kind: .summary, source: .agent, expiresAt: expiresAt)
        let written = try await memory.commit(write, into: try args.string("namespace") ?? resolver.workspaceNamespace, by: resolver, logger: logger)
        return try Self.json(written)
    }

    func searchMemory(_ args: ToolArguments, _ access: WorkspaceAccess) async throws -> String {
        let kinds = try args.strings("kinds").map { text in
            guard let kind = MemoryKind(rawValue: text) else { throw APIError.badRequest("kinds: \(text) is not a memory kind") }
            return kind
        }
        var limit: Int?
        if let value = try args.int("limit") {
            guard (1...100).contains(value) else { throw APIError.badRequest("limit must be between 1 and 100") }
            limit = value
        }
        let resolver = try await access.placement().resolver
        let requested = try args.strings("namespaces")
        // Asked only for namespaces it cannot read: nothing, never someone else's memories.
        if !requested.isEmpty && resolver.intersectReadable(requested).isEmpty { return #"{"memories":[]}"# }
        var found = try await memory.search(requested, query: try args.string("query"), kinds: kinds.isEmpty ? nil : kinds,
                                            limit: limit, by: resolver)
        for index in found.indices { found[index].content = OrgMemory.present(found[index]) }
        return try Self.json(SearchResponse(memories: found))
    }

    func forget(_ args: ToolArguments, _ access: WorkspaceAccess) async throws -> String {
        guard let memoryID = try args.string("memory_id") else { throw APIError.badRequest("memory_id is required") }
        let resolver = try await access.placement().resolver
        try await memory.forget(memoryID, in: try args.string("namespace") ?? resolver.workspaceNamespace, by: resolver)
        return #"{"forgotten":true}"#
    }

    func namespaces(_ access: WorkspaceAccess, writableOnly: Bool) async throws -> String {
        let grants = try await access.placement().resolver.grants.filter { !writableOnly || $0.writable }
        let list: [JSONValue] = grants.map { grant in
            .object([
                "name": .string(grant.name), "kind": .string(grant.kind.rawValue), "scope": .string(grant.scope.rawValue),
                "writable": .bool(grant.writable), "description": .string(grant.description),
            ])
        }
        return try Self.json(JSONValue.array(list), pretty: true)
    }

    private func expiry(_ args: ToolArguments) throws -> Timestamp? {
        guard let text = try args.string("expires_at") else { return nil }
        guard let stamp = Timestamp(rfc3339: text) else { throw APIError.badRequest("expires_at must be an RFC 3339 time") }
        return stamp
    }

    static func json<Value: Encodable>(_ value: Value, pretty: Bool = false) throws -> String {
        let encoder = JSONResponse.encoder
        if pretty { encoder.outputFormatting.insert(.prettyPrinted) }
        return String(decoding: try encoder.encodeBytes(value), as: UTF8.self)
    }
}
