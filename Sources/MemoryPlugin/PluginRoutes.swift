import BuildInfo
import FoundationEssentials
import Hummingbird
import MemoryContract
import Logging
import NIOCore
import Postgres

/// The memory-plugin v1 HTTP surface (plus our compatible additions) over a `MemoryStore`.
public struct PluginRoutes: Sendable {
    public let store: MemoryStore
    public let limits: ContractLimits
    public let metrics: PluginMetrics
    /// Request bodies above this are answered 413.
    public static let maxBodyBytes = 1 << 20

    public init(store: MemoryStore, limits: ContractLimits, metrics: PluginMetrics) {
        self.store = store
        self.limits = limits
        self.metrics = metrics
    }

    /// Capabilities advertised by health: exactly what works.
    public var capabilities: [String] {
        var list = [Contract.Capability.fullTextSearch, Contract.Capability.ttl, Contract.Capability.pin,
                    Contract.Capability.propagation, Contract.Capability.keyValue]
        if limits.embeddingDimensions != nil { list.insert(Contract.Capability.embedding, at: 0) }
        return list
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.middlewares.add(ContractErrorMiddleware(metrics: metrics))
        router.get("/v1/health") { _, _ in
            guard await store.isHealthy() else { throw ContractError.unavailable() }
            return try JSONResponse.ok(HealthResponse(
                status: "ok", version: BuildInfo.version, capabilities: capabilities, embeddingDimensions: limits.embeddingDimensions))
        }
        router.put("/v1/namespaces/:name") { request, context in
            let name = try namespace(context)
            let body = try await decode(NamespaceUpsert.self, request)
            return try JSONResponse.ok(try await store.upsertNamespace(name, body))
        }
        router.patch("/v1/namespaces/:name") { request, context in
            let name = try namespace(context)
            let body = try await decode(NamespacePatch.self, request)
            try Validate.namespacePatch(body)
            return try JSONResponse.ok(try await store.patchNamespace(name, body))
        }
        router.delete("/v1/namespaces/:name") { _, context in
            try await store.deleteNamespace(try namespace(context))
            return Response(status: .noContent)
        }
        router.post("/v1/namespaces/:name/memories") { request, context in
            let name = try namespace(context)
            let body = try await collect(request)
            // The hot path reads the body directly; JSONDecoder only for what it refuses.
            var write = try body.withUnsafeReadableBytes(MemoryWire.decodeCommitRequest) ?? decode(MemoryWrite.self, body)
            if write.id == "" { write.id = nil }  // the reference treats an empty id as absent
            try Validate.memoryWrite(write, limits: limits)
            return JSONResponse.ok(bytes: MemoryWire.commitResponse(try await store.commit(name, write)), status: .created)
        }
        router.get("/v1/namespaces/:name/memories") { request, context in
            let name = try namespace(context)
            let limitText = request.uri.queryParameters["limit"].map(String.init)
            let limit = limitText.map { Int($0) } ?? 100
            guard let limit, (1...limits.maxPageLimit).contains(limit) else {
                throw ContractError.badRequest("limit must be an integer in 1...\(limits.maxPageLimit)")
            }
            let after = request.uri.queryParameters["after"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
            return try JSONResponse.ok(try await store.page(name, after: after, limit: limit))
        }
        router.post("/v1/search") { request, _ in
            let body = try await decode(SearchRequest.self, request)
            try Validate.search(body, limits: limits)
            return JSONResponse.ok(bytes: SearchResponse(memories: try await store.search(body)).jsonBytes)
        }
        router.delete("/v1/memories/:id") { request, context in
            let id = try context.parameters.require("id")
            try Validate.memoryID(id)
            let body = try await decode(ForgetRequest.self, request)
            try Validate.namespace(body.requestedByNamespace, field: "requested_by_namespace", limits: limits)
            try await store.forget(id: id, requestedBy: body.requestedByNamespace)
            return Response(status: .noContent)
        }
        router.post("/v1/memories/batch") { request, _ in
            // Decoded from the body's bytes as they arrived (BatchWire): no copy of the
            // body and no JSON tree, so a batch is held about once.
            let items = try await collect(request).withUnsafeReadableBytes { bytes throws(ContractError) in
                try BatchWire.decodeRequest(bytes)
            }
            guard (1...limits.maxBatchItems).contains(items.count) else {
                throw ContractError.badRequest("items must hold 1 to \(limits.maxBatchItems) entries, got \(items.count)")
            }
            let results = try await store.batch(items, limits: limits)
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: BatchWire.response(results))))
        }
        router.get("/metrics") { _, _ in
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: metrics.render(pool: store.pool.statistics))))
        }
        return router
    }

    private func namespace(_ context: BasicRequestContext) throws -> String {
        let name = try context.parameters.require("name")
        try Validate.namespace(name, limits: limits)
        return name
    }

    /// Reads at most 1 MiB and decodes JSON; malformed input is a 400 naming the problem.
    private func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        try decode(type, try await collect(request))
    }

    private func decode<T: Decodable>(_ type: T.Type, _ buffer: ByteBuffer) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw ContractError.badRequest(ContractError.describe(error))
        }
    }
}

extension PluginRoutes {
    /// The request body, at most 1 MiB (413 above).
    private func collect(_ request: Request) async throws -> ByteBuffer {
        var request = request
        do {
            return try await request.collectBody(upTo: Self.maxBodyBytes)
        } catch is NIOTooManyBytesError {
            throw ContractError.tooLarge("request body is larger than \(Self.maxBodyBytes) bytes")
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw ContractError.tooLarge("request body is larger than \(Self.maxBodyBytes) bytes")
        }
    }
}

enum JSONResponse {
    static func ok<T: Encodable>(_ value: T) throws -> Response { try make(value, status: .ok) }

    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status) throws -> Response {
        ok(bytes: try encoder.encode(value), status: status)
    }

    /// A body already written (`JSONWriter`), for the responses that carry many memories.
    static func ok<Bytes: Sequence<UInt8>>(bytes: Bytes, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return encoder
    }
}

/// Answers every failure as the contract's `{code, message, details?}` body and records
/// each request in the metrics. Unknown errors become a bare 500: their text may hold
/// internals, so it goes to the log, never to the client.
struct ContractErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: PluginMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let route = context.endpointPath ?? "unmatched"
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as ContractError {
            response = Self.render(error)
        } catch let error as HTTPError {
            let status = Int(error.status.code)
            let contract: ContractError = switch status {
            case 404: .notFound("no route \(request.method.rawValue) \(request.uri.path)")
            case 405: ContractError(code: .badRequest, message: "method \(request.method.rawValue) is not allowed here", status: 405)
            case 413: .tooLarge("request body is larger than \(PluginRoutes.maxBodyBytes) bytes")
            case 400..<500: ContractError(code: .badRequest, message: "bad request", status: status)
            default: .internal()
            }
            response = Self.render(contract)
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            response = Self.render(.internal())
        }
        metrics.record(route: route, method: request.method.rawValue, status: Int(response.status.code), duration: ContinuousClock.now - started)
        return response
    }

    static func render(_ error: ContractError) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        let body = (try? JSONResponse.encoder.encode(error)) ?? Data(#"{"code":"internal","message":"internal error"}"#.utf8)
        return Response(status: .init(code: error.status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
