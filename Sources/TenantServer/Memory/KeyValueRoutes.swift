import FoundationEssentials
import Hummingbird
import MemoryAccess
import MemoryContract
import MemoryPluginClient
import Timestamps

/// `GET|POST|DELETE /workspaces/:id/memory[/:key]`: the reference's versioned K/V store,
/// kept by the plugin as kind `kv` in `workspace:<id>`. A value is any JSON; its text is
/// the memory's content. `if_match_version` gives optimistic concurrency (0 = create only).
struct KeyValueRoutes: Sendable {
    let memory: WorkspaceMemory
    let authenticator: Authenticator

    func register(on router: Router<TenantRequestContext>) {
        router.get("/workspaces/:id/memory", use: list)
        router.get("/workspaces/:id/memory/:key", use: get)
        router.post("/workspaces/:id/memory", use: set)
        router.delete("/workspaces/:id/memory/:key", use: delete)
    }

    /// One entry as the reference returns it.
    struct Entry: Encodable {
        let key: String
        let value: JSONValue
        let version: Int64
        let expiresAt: Timestamp?
        let updatedAt: Timestamp

        enum CodingKeys: String, CodingKey {
            case key, value, version
            case expiresAt = "expires_at"
            case updatedAt = "updated_at"
        }

        init?(_ memory: Memory) {
            guard memory.kind == .kv, let key = memory.key else { return nil }
            self.key = key
            // Text that is not JSON (written by another client) reads back as a string.
            value = (try? JSONDecoder().decode(JSONValue.self, from: Data(memory.content.utf8))) ?? .string(memory.content)
            version = memory.version ?? 1
            expiresAt = memory.expiresAt
            if case .string(let text)? = memory.propagation?[Self.updatedAtField], let stamp = Timestamp(rfc3339: text) {
                updatedAt = stamp
            } else {
                updatedAt = memory.createdAt
            }
        }

        /// The plugin keeps a kv entry's creation time; each write records its own time here.
        static let updatedAtField = "kv_updated_at"
    }

    @Sendable func list(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        let access = try await authenticator.requireWorkspaceAccess(request, id)
        let resolver = try await access.placement().resolver
        let entries = try await self.entries(in: resolver.workspaceNamespace).compactMap(Entry.init).sorted { $0.key < $1.key }
        return try JSONResponse.ok(entries)
    }

    @Sendable func get(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        let access = try await authenticator.requireWorkspaceAccess(request, id)
        let key = try context.parameters.require("key")
        let resolver = try await access.placement().resolver
        guard let found = try await entry(key, in: resolver.workspaceNamespace), let entry = Entry(found) else {
            throw APIError.notFound("key not found")
        }
        return try JSONResponse.ok(entry)
    }

    struct SetBody: Decodable {
        let key: String
        let value: JSONValue?
        let ttlSeconds: Int?
        let ifMatchVersion: Int64?

        enum CodingKeys: String, CodingKey {
            case key, value
            case ttlSeconds = "ttl_seconds"
            case ifMatchVersion = "if_match_version"
        }

        static let fields: Set<String> = ["key", "value", "ttl_seconds", "if_match_version"]
    }

    struct Stored: Encodable {
        let status = "ok"
        let key: String
        let version: Int64
    }

    @Sendable func set(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        let access = try await authenticator.requireWorkspaceAccess(request, id)
        let caller = access.caller
        let body = try await JSONRequest.decodeObject(SetBody.self, request, allowed: SetBody.fields)
        guard !body.key.isEmpty else { throw APIError.badRequest("key is required") }
        guard body.key.utf8.count <= 1024 else { throw APIError.badRequest("key is longer than 1024 bytes") }
        if let ttl = body.ttlSeconds, ttl < 1 { throw APIError.badRequest("ttl_seconds must be a positive number of seconds") }
        if let expected = body.ifMatchVersion, expected < 0 { throw APIError.badRequest("if_match_version must not be negative") }
        let resolver = try await access.placement().resolver
        let namespace = resolver.workspaceNamespace
        let now = Timestamp.now()
        let write = MemoryWrite(
            content: try content(of: body.value ?? .null, workspaceID: id, context: context), kind: .kv,
            source: caller == .admin ? .user : .agent,
            expiresAt: body.ttlSeconds.map { Timestamp(microseconds: now.microseconds + Int64($0) * 1_000_000) },
            propagation: [Entry.updatedAtField: .string(now.rfc3339)], key: body.key, ifMatchVersion: body.ifMatchVersion)
        do {
            let written = try await memory.commit(write, into: namespace, by: resolver, logger: context.logger)
            return try JSONResponse.ok(Stored(key: body.key, version: written.version ?? 1))
        } catch let error as APIError where error.status == .conflict {
            // The reference's 409 carries both versions so the caller can re-read and retry.
            let current = try await entry(body.key, in: namespace)?.version
            return try JSONResponse.make(Conflict(
                error: current == nil ? "if_match_version mismatch: key does not exist" : "if_match_version mismatch",
                expectedVersion: body.ifMatchVersion ?? 0, currentVersion: current), status: .conflict)
        }
    }

    struct Conflict: Encodable {
        let error: String
        let code = "conflict"
        let expectedVersion: Int64
        let currentVersion: Int64?

        enum CodingKeys: String, CodingKey {
            case error, code
            case expectedVersion = "expected_version"
            case currentVersion = "current_version"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(error, forKey: .error)
            try container.encode(code, forKey: .code)
            try container.encode(expectedVersion, forKey: .expectedVersion)
            try container.encode(currentVersion, forKey: .currentVersion)
        }
    }

    struct Deleted: Encodable {
        let status = "deleted"
    }

    /// Deleting a key that is not there is still 200, as in the reference.
    @Sendable func delete(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        let access = try await authenticator.requireWorkspaceAccess(request, id)
        let key = try context.parameters.require("key")
        let resolver = try await access.placement().resolver
        if let found = try await entry(key, in: resolver.workspaceNamespace) {
            do {
                try await memory.forget(found.id, in: resolver.workspaceNamespace, by: resolver)
            } catch let error as APIError where error.status == .notFound {
                // Deleted by someone else in between: the key is gone either way.
            }
        }
        return try JSONResponse.ok(Deleted())
    }

    /// The value's JSON text, secrets redacted. The redactor keeps the text around a
    /// secret, so JSON stays JSON; should a secret straddle a quote, each string inside
    /// the value is redacted on its own instead.
    func content(of value: JSONValue, workspaceID: String, context: TenantRequestContext) throws -> String {
        let text = String(decoding: try JSONResponse.encoder.encodeBytes(value), as: UTF8.self)
        let redacted = memory.prepare(text, namespace: "workspace:\(workspaceID)", workspaceID: workspaceID, logger: context.logger)
        if redacted == text || (try? JSONDecoder().decode(JSONValue.self, from: Data(redacted.utf8))) != nil { return redacted }
        return String(decoding: try JSONResponse.encoder.encodeBytes(redactStrings(value)), as: UTF8.self)
    }

    private func redactStrings(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text): .string(memory.redactor.redact(text).text)
        case .array(let items): .array(items.map(redactStrings))
        case .object(let fields): .object(fields.mapValues(redactStrings))
        default: value
        }
    }

    /// Every live kv entry of a namespace. One search answers up to 100 entries; a
    /// namespace with more is read page by page through the cursor listing.
    func entries(in namespace: String) async throws -> [Memory] {
        let request = SearchRequest(namespaces: [namespace], kinds: [.kv], limit: MemoryQuery.maxLimit)
        let first = try await pluginCall { () async throws(MemoryPluginClientError) in try await memory.plugin.search(request) }
        guard first.count >= MemoryQuery.maxLimit else { return first }
        var all: [Memory] = []
        var cursor: String?
        repeat {
            let page = try await pluginCall { () async throws(MemoryPluginClientError) in
                try await memory.plugin.page(namespace: namespace, after: cursor, limit: 1000)
            }
            all += page.memories.filter { $0.kind == .kv }
            cursor = page.nextCursor
        } while cursor != nil
        return all
    }

    func entry(_ key: String, in namespace: String) async throws -> Memory? {
        try await entries(in: namespace).first { $0.key == key }
    }
}
