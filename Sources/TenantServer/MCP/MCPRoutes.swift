import BuildInfo
import FoundationEssentials
import HTTPTypes
import Hummingbird
import Logging
import MemoryContract
import NIOCore
import RedisClient
import ServiceLifecycle
import TenantCrypto

/// `POST /workspaces/:id/mcp` (JSON-RPC 2.0, MCP protocol 2024-11-05) and
/// `GET /workspaces/:id/mcp/stream` (the SSE transport), written directly on
/// Hummingbird: the MCP swift-sdk would bring full Foundation (DESIGN section 9).
/// Workspace bearer auth as every workspace route, plus a per-token limit on calls.
struct MCPRoutes: Sendable {
    let dependencies: ServerDependencies
    let tools: MemoryTools
    let messaging: MessagingTools
    let sessions = MCPSessions()

    static let protocolVersion = "2024-11-05"
    /// Tool calls per token per minute (the reference's MCP limit).
    static let callsPerMinute = 120
    /// How often an idle stream gets a comment line, so proxies keep it open.
    static let pingInterval: Duration = .seconds(25)

    init(dependencies: ServerDependencies) {
        self.dependencies = dependencies
        tools = MemoryTools(memory: WorkspaceMemory(plugin: dependencies.memoryPlugin, pool: dependencies.pool))
        messaging = MessagingTools(dependencies: dependencies)
    }

    func register(on router: Router<TenantRequestContext>) {
        router.post("/workspaces/:id/mcp", use: call)
        router.get("/workspaces/:id/mcp/stream", use: stream)
    }

    // MARK: - POST

    @Sendable func call(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        let access = try await dependencies.authenticator.requireWorkspaceAccess(request, id)
        try await limit(request, context)
        let bytes = try await JSONRequest.body(request)
        guard let message = bytes.withUnsafeBytes({ JSONValue.parse($0) }) else {
            return try Self.reply([JSONRPC.Response(id: .null, result: nil, error: .parse("parse error: body is not valid JSON"))], status: .badRequest)
        }
        var answers: [JSONRPC.Response] = []
        switch message {
        case .array(let batch):
            guard !batch.isEmpty else {
                return try Self.reply([JSONRPC.Response(id: .null, result: nil, error: .invalidRequest("empty batch"))], status: .badRequest)
            }
            for item in batch {
                if let answer = await handle(item, access: access, logger: context.logger) { answers.append(answer) }
            }
        default:
            if let answer = await handle(message, access: access, logger: context.logger) {
                // Not a JSON-RPC request at all: a 4xx, as for any malformed body.
                if answer.error?.code == -32600 { return try Self.reply([answer], status: .badRequest) }
                answers.append(answer)
            }
        }
        // Notifications only: nothing to answer.
        guard !answers.isEmpty else { return Response(status: .accepted) }
        if let session = request.query("session_id") {
            let payload = try Self.payload(answers, batch: Self.isBatch(message))
            if sessions.send(MCPSessions.event("message", data: payload), session: session, workspaceID: id) {
                return Response(status: .accepted)
            }
        }
        return try Self.reply(answers, status: .ok, batch: Self.isBatch(message))
    }

    /// One message in, at most one answer out (none for a notification).
    func handle(_ message: JSONValue, access: WorkspaceAccess, logger: Logger) async -> JSONRPC.Response? {
        let request: JSONRPC.Request
        do {
            request = try JSONRPC.Request(message)
        } catch {
            return JSONRPC.Response(id: .null, result: nil, error: error)
        }
        do {
            let result = try await dispatch(request, access: access, logger: logger)
            guard let id = request.id else { return nil }
            return JSONRPC.Response(id: id, result: result, error: nil)
        } catch {
            guard let id = request.id else { return nil }
            return JSONRPC.Response(id: id, result: nil, error: error)
        }
    }

    func dispatch(_ request: JSONRPC.Request, access: WorkspaceAccess, logger: Logger) async throws(JSONRPC.ErrorObject) -> JSONValue {
        switch request.method {
        case "initialize":
            return .object([
                "protocolVersion": .string(Self.protocolVersion),
                "capabilities": .object(["tools": .object(["listChanged": .bool(false)])]),
                "serverInfo": .object(["name": .string("molecule-tenant"), "version": .string(BuildInfo.version)]),
            ])
        case "notifications/initialized", "notifications/cancelled", "ping":
            return .object([:])
        case "tools/list":
            return .object(["tools": .array(MCPToolCatalog.tools)])
        case "tools/call":
            guard case .object(let params)? = request.params, case .string(let name)? = params["name"] else {
                throw .invalidParams("tools/call needs params.name (a tool name)")
            }
            guard MCPToolCatalog.names.contains(name) else { throw .invalidParams("unknown tool: \(name)") }
            do {
                let text = MessagingTools.names.contains(name)
                    ? try await messaging.call(name, params["arguments"], workspaceID: access.workspaceID)
                    : try await tools.call(name, params["arguments"], access: access, logger: logger)
                return .object(["content": .array([.object(["type": .string("text"), "text": .string(text)])])])
            } catch let error as APIError {
                throw .toolFailed(error)
            } catch {
                logger.error("mcp tool failed", metadata: ["tool": "\(name)", "error_type": "\(String(reflecting: type(of: error)))"])
                throw .toolFailed(.internalError())
            }
        default:
            throw .methodNotFound(request.method)
        }
    }

    // MARK: - SSE

    /// The SSE transport: an `endpoint` event naming where to POST (with this stream's
    /// session), then answers as `message` events and comment pings, until the client
    /// goes away or the server shuts down.
    @Sendable func stream(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let id = try context.workspaceID()
        try await dependencies.authenticator.requireWorkspace(request, id)
        try await limit(request, context)
        let sessions = self.sessions
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-cache"
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        let body = ResponseBody { writer in
            let (events, continuation) = AsyncStream<ByteBuffer>.makeStream(bufferingPolicy: .bufferingNewest(256))
            let session = sessions.open(workspaceID: id, continuation: continuation)
            continuation.yield(MCPSessions.event("endpoint", data: "/workspaces/\(id)/mcp?session_id=\(session)"))
            let pinger = Task {
                while !Task.isCancelled {
                    try await Task.sleep(for: Self.pingInterval)
                    continuation.yield(ByteBuffer(string: ": ping\n\n"))
                }
            }
            defer {
                pinger.cancel()
                continuation.finish()
                sessions.close(session)
            }
            try await withGracefulShutdownHandler {
                for await event in events { try await writer.write(event) }
            } onGracefulShutdown: {
                continuation.finish()
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    // MARK: - Helpers

    /// 120 calls per minute per token, shared by every replica through Redis. Redis
    /// down: the call passes, as the server-wide limiter does.
    func limit(_ request: Request, _ context: TenantRequestContext) async throws {
        guard let token = BearerToken.from(request) else { return }
        let now = WallClock.secondsSinceEpoch()
        let key = "mcp:t:\(SHA256.hex(token).prefix(32)):\(now / 60)"
        let count: Int
        do {
            count = try await dependencies.redis.eval(RateLimitMiddleware.script, keys: [key], arguments: ["61"]).int ?? 0
        } catch {
            context.logger.warning("mcp rate limiter unavailable; call allowed")
            return
        }
        guard count <= Self.callsPerMinute else {
            throw APIError(.tooManyRequests, code: "rate_limited",
                           "MCP rate limit of \(Self.callsPerMinute) calls per minute per token exceeded; retry shortly")
        }
    }

    static func isBatch(_ message: JSONValue) -> Bool {
        if case .array = message { true } else { false }
    }

    static func payload(_ answers: [JSONRPC.Response], batch: Bool) throws -> String {
        let bytes = batch ? try JSONResponse.encoder.encodeBytes(answers) : try JSONResponse.encoder.encodeBytes(answers[0])
        return String(decoding: bytes, as: UTF8.self)
    }

    static func reply(_ answers: [JSONRPC.Response], status: HTTPResponse.Status, batch: Bool = false) throws -> Response {
        batch ? try JSONResponse.make(answers, status: status) : try JSONResponse.make(answers[0], status: status)
    }
}
