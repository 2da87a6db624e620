import FoundationEssentials
import Logging
import MemoryContract
import NIOCore
import NIOHTTP1
import NIOPosix

/// A client for the memory-plugin v1 HTTP contract (plus our additions): keep-alive
/// connection pool, a timeout per call, and a circuit breaker. The plugin is the single
/// source of truth for memory, so there is no fallback: every failure is a typed error.
public final class MemoryPluginClient: Sendable {
    public let configuration: MemoryPluginClientConfiguration
    /// Open, closed or half-open; for /health and the metrics.
    public let breaker: CircuitBreaker
    private let pool: ConnectionPool
    private let logger: Logger

    /// Connection counters for the metrics.
    public struct PoolStatistics: Sendable, Equatable {
        /// Connections open or being opened.
        public var open: Int
        public var idle: Int
        /// Calls waiting for a connection.
        public var waiting: Int
        /// Connections opened since start.
        public var dialled: Int
        /// Connection attempts since start, failed ones included.
        public var dialAttempts: Int
    }

    public init(
        configuration: MemoryPluginClientConfiguration,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "memory-plugin-client")
    ) {
        self.configuration = configuration
        self.breaker = CircuitBreaker(failureThreshold: configuration.breakerFailureThreshold, cooldown: configuration.breakerCooldown)
        self.pool = ConnectionPool(configuration: configuration, group: eventLoopGroup)
        self.logger = logger
    }

    /// Shorthand for `MemoryPluginClient(configuration: .init(baseURL:timeout:))`.
    public convenience init(baseURL: String, timeout: Duration = .seconds(2)) throws(MemoryPluginClientError) {
        self.init(configuration: try MemoryPluginClientConfiguration(baseURL: baseURL, timeout: timeout))
    }

    public var poolStatistics: PoolStatistics {
        let s = pool.statistics
        return PoolStatistics(open: s.open, idle: s.idle, waiting: s.waiting, dialled: s.dialled, dialAttempts: s.dialAttempts)
    }

    /// Closes every connection; calls after this fail with `unavailable`.
    public func shutdown() async {
        await pool.shutdown()
    }

    // MARK: - Routes

    /// `GET /v1/health`. A plugin whose database is down answers 503: `.unavailable`.
    public func health() async throws(MemoryPluginClientError) -> HealthResponse {
        try await call(.GET, "/v1/health", route: "GET /v1/health", replayable: true)
    }

    /// `PUT /v1/namespaces/{name}`: creates or replaces a namespace's kind, TTL and metadata.
    @discardableResult
    public func upsertNamespace(_ name: String, _ body: NamespaceUpsert) async throws(MemoryPluginClientError) -> Namespace {
        try await call(.PUT, namespacePath(name), route: "PUT /v1/namespaces/{name}", body: body, replayable: true)
    }

    /// `PATCH /v1/namespaces/{name}`: absent fields stay, `.null` clears.
    @discardableResult
    public func patchNamespace(_ name: String, _ patch: NamespacePatch) async throws(MemoryPluginClientError) -> Namespace {
        try await call(.PATCH, namespacePath(name), route: "PATCH /v1/namespaces/{name}", body: EncodableNamespacePatch(patch: patch), replayable: true)
    }

    /// `DELETE /v1/namespaces/{name}` with its memories.
    public func deleteNamespace(_ name: String) async throws(MemoryPluginClientError) {
        let _: NoContent = try await call(.DELETE, namespacePath(name), route: "DELETE /v1/namespaces/{name}", replayable: true)
    }

    /// `POST /v1/namespaces/{name}/memories` (201). A namespace that does not exist is created.
    /// A fact without an id gets one here, which makes the request safe to send again.
    public func commit(namespace: String, write: MemoryWrite) async throws(MemoryPluginClientError) -> MemoryWriteResponse {
        let route = "POST /v1/namespaces/{name}/memories"
        let write = Self.identified(write)
        guard let body = MemoryWire.commitRequest(write) else {
            throw .rejected(.badRequest("the request body for \(route) cannot be encoded as JSON (a non-finite number?)"))
        }
        return try await call(
            .POST, namespacePath(namespace) + "/memories", route: route, bodyBuffer: ByteBuffer(bytes: body),
            replayable: Self.isReplayable(write))
    }

    /// Gives a fact without an id a random one, as the plugin would have. Without it, a
    /// commit that met a connection the plugin had just closed (an upgrade's handover)
    /// could not be sent again: it might have been written. A K/V write keeps no id: there
    /// an id means "only if the entry still has this id".
    static func identified(_ write: MemoryWrite) -> MemoryWrite {
        guard write.id == nil, write.kind != .kv else { return write }
        var write = write
        write.id = RandomUUID.next()
        return write
    }

    /// A write may be sent twice when the second one changes nothing: a fact with an id,
    /// or a K/V import (an explicit version). A K/V set bumps the version each time.
    static func isReplayable(_ write: MemoryWrite) -> Bool {
        write.kind == .kv ? write.version != nil : write.id != nil
    }

    /// `POST /v1/search`; an empty result is `[]`.
    public func search(_ request: SearchRequest) async throws(MemoryPluginClientError) -> [Memory] {
        let route = "POST /v1/search"
        guard let body = MemoryWire.searchRequest(request) else {
            throw .rejected(.badRequest("the request body for \(route) cannot be encoded as JSON (a non-finite number?)"))
        }
        let response: SearchResponse = try await call(.POST, "/v1/search", route: route, bodyBuffer: ByteBuffer(bytes: body), replayable: true)
        return response.memories
    }

    /// `DELETE /v1/memories/{id}`, allowed only from the memory's own namespace.
    public func forget(id: String, requestedBy namespace: String) async throws(MemoryPluginClientError) {
        let _: NoContent = try await call(
            .DELETE, "/v1/memories/" + URLEncoding.pathSegment(id), route: "DELETE /v1/memories/{id}",
            body: ForgetRequest(requestedByNamespace: namespace), replayable: true)
    }

    /// (+) `GET /v1/namespaces/{name}/memories?after=&limit=`: every kind, oldest first.
    /// Pass the page's `nextCursor` as `after` until it is nil.
    public func page(namespace: String, after cursor: String? = nil, limit: Int = 100) async throws(MemoryPluginClientError) -> MemoryPage {
        var path = namespacePath(namespace) + "/memories?limit=\(limit)"
        if let cursor { path += "&after=" + URLEncoding.queryValue(cursor) }
        return try await call(.GET, path, route: "GET /v1/namespaces/{name}/memories", replayable: true)
    }

    /// (+) `POST /v1/memories/batch`: one result per item, in order, `index` into `items`.
    /// An item that failed to decode on our side gets its error here and is not sent;
    /// an item's error never fails its neighbours.
    public func batch(_ items: [BatchItem]) async throws(MemoryPluginClientError) -> [BatchItemResult] {
        var results = [BatchItemResult?](repeating: nil, count: items.count)
        var sent: [(namespace: String?, write: MemoryWrite)] = []
        var sentIndex: [Int] = []
        // Items whose id was made here: a failed one reports none, as it had none.
        var madeID = Set<Int>()
        for (index, item) in items.enumerated() {
            switch item.write {
            case .success(let write):
                let identified = Self.identified(write)
                if identified.id != write.id { madeID.insert(sent.count) }
                sent.append((item.namespace, identified))
                sentIndex.append(index)
            case .failure(let error):
                results[index] = BatchItemResult(index: index, id: nil, status: .error, error: error)
            }
        }
        if !sent.isEmpty {
            let replayable = sent.allSatisfy { Self.isReplayable($0.write) }
            let route = "POST /v1/memories/batch"
            guard let body = BatchWire.request(sent) else {
                throw .rejected(.badRequest("the request body for \(route) cannot be encoded as JSON (a non-finite number?)"))
            }
            let response: BatchResponse = try await call(.POST, "/v1/memories/batch", route: route, bodyBuffer: ByteBuffer(bytes: body), replayable: replayable)
            for var result in response.results {
                guard sentIndex.indices.contains(result.index) else {
                    throw .protocolViolation("POST /v1/memories/batch answered a result for item \(result.index) of \(sent.count)")
                }
                if result.status == .error, madeID.contains(result.index) { result.id = nil }
                result.index = sentIndex[result.index]
                results[result.index] = result
            }
        }
        guard results.allSatisfy({ $0 != nil }) else {
            throw .protocolViolation("POST /v1/memories/batch answered \(results.count(where: { $0 != nil })) results for \(items.count) items")
        }
        return results.map { $0! }
    }

    private func namespacePath(_ name: String) -> String {
        "/v1/namespaces/" + URLEncoding.pathSegment(name)
    }

    // MARK: - Exchange

    /// The answer type of routes that answer 204.
    private struct NoContent: Decodable {}

    private func call<Response: Decodable>(
        _ method: HTTPMethod, _ path: String, route: String, replayable: Bool
    ) async throws(MemoryPluginClientError) -> Response {
        try await call(method, path, route: route, body: nil as NoBody?, replayable: replayable)
    }

    private struct NoBody: Encodable {}

    private func call<Body: Encodable, Response: Decodable>(
        _ method: HTTPMethod, _ path: String, route: String, body: Body?, replayable: Bool
    ) async throws(MemoryPluginClientError) -> Response {
        var bodyBuffer: ByteBuffer?
        if let body {
            do {
                bodyBuffer = ByteBuffer(bytes: try JSONEncoder().encode(body))
            } catch {
                // Only non-finite floats fail to encode; say which route, never the body.
                throw .rejected(.badRequest("the request body for \(route) cannot be encoded as JSON (a non-finite number?)"))
            }
        }
        return try await call(method, path, route: route, bodyBuffer: bodyBuffer, replayable: replayable)
    }

    private func call<Response: Decodable>(
        _ method: HTTPMethod, _ path: String, route: String, bodyBuffer: ByteBuffer?, replayable: Bool
    ) async throws(MemoryPluginClientError) -> Response {
        let permit: CircuitBreaker.Permit
        switch breaker.permit() {
        case .success(let granted): permit = granted
        case .failure(let refusal):
            let when = refusal.reopensIn.map { "a probe is allowed in \(Self.format($0))" } ?? "a probe is in flight"
            throw .unavailable("circuit breaker open after repeated failures (\(when)); \(route) was not sent")
        }

        let deadline = NIODeadline.now() + Self.timeAmount(configuration.timeout)
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
        head.headers.add(name: "Host", value: configuration.authority)
        head.headers.add(name: "Accept", value: "application/json")
        head.headers.add(name: "User-Agent", value: "molecule-tenant")
        if let bodyBuffer {
            head.headers.add(name: "Content-Type", value: "application/json")
            head.headers.add(name: "Content-Length", value: String(bodyBuffer.readableBytes))
        } else if method == .POST || method == .PUT || method == .PATCH || method == .DELETE {
            head.headers.add(name: "Content-Length", value: "0")
        }

        let response: PluginHTTPResponse
        do {
            response = try await exchange(head: head, body: bodyBuffer, deadline: deadline, replayable: replayable)
        } catch let error as PluginTransportError {
            switch error {
            case .poolShutDown:
                breaker.record(.inconclusive, for: permit)
                throw .unavailable("the memory plugin client is shut down; \(route) was not sent")
            case .noConnectionInTime:
                // Our own congestion; the calls holding the connections speak for the plugin.
                breaker.record(.inconclusive, for: permit)
                throw .unavailable(describe(error, route: route))
            case .tooLarge(let limit):
                note(breaker.record(.failure, for: permit))
                throw .protocolViolation("the answer to \(route) is larger than \(limit) bytes")
            default:
                note(breaker.record(.failure, for: permit))
                throw .unavailable(describe(error, route: route))
            }
        } catch {
            breaker.record(.inconclusive, for: permit)
            throw .unavailable("\(route) was cancelled")
        }

        switch response.status {
        case 200..<300:
            let decoded: Response
            do {
                decoded = try decode(Response.self, response)
            } catch {
                note(breaker.record(.failure, for: permit))
                throw .protocolViolation("the \(response.status) answer to \(route) is not the contract's JSON: \(error)")
            }
            note(breaker.record(.success, for: permit))
            return decoded
        case 400..<500:
            // The plugin is alive and answering; a refusal says nothing against its health.
            note(breaker.record(.success, for: permit))
            throw .rejected(contractError(response, route: route))
        case 503:
            note(breaker.record(.failure, for: permit))
            throw .unavailable("\(route): \(contractError(response, route: route).message)")
        case 500..<600:
            note(breaker.record(.failure, for: permit))
            throw .pluginFailure(contractError(response, route: route))
        default:
            note(breaker.record(.failure, for: permit))
            throw .protocolViolation("\(route) answered status \(response.status)")
        }
    }

    /// Sends on a pooled connection. A reused connection that the plugin closed before
    /// answering (a restart, an upgrade's handover, an idle timeout) is dropped and the
    /// request sent again, but only a request that is safe to send twice. After a restart
    /// every idle connection is stale, so it goes on until one answers or a fresh one is
    /// dialled (at most one try per pooled connection, plus the fresh one).
    private func exchange(head: HTTPRequestHead, body: ByteBuffer?, deadline: NIODeadline, replayable: Bool) async throws -> PluginHTTPResponse {
        var retries = 0
        while true {
            let connection: PluginConnection
            let reused: Bool
            switch try await pool.acquire(deadline: deadline) {
            case .reuse(let idle):
                connection = idle
                reused = true
            case .dial:
                connection = try await pool.dial(deadline: deadline)
                reused = false
            }
            do {
                let response = try await connection.send(head: head, body: body, deadline: deadline)
                pool.release(connection, reusable: response.keepAlive)
                return response
            } catch {
                pool.release(connection, reusable: false)
                if reused, replayable, retries <= configuration.maxConnections, let transport = error as? PluginTransportError,
                   transport.beforeResponse {
                    retries += 1
                    continue
                }
                throw error
            }
        }
    }

    private func decode<T: Decodable>(_ type: T.Type, _ response: PluginHTTPResponse) throws -> T {
        if T.self == NoContent.self { return NoContent() as! T }
        // Every memory request through the server decodes one of these two: read them
        // without Foundation's boxed tree.
        do {
            if T.self == SearchResponse.self {
                let memories = try response.body.withUnsafeReadableBytes { try MemoryWire.decodeSearchResponse($0) }
                return SearchResponse(memories: memories) as! T
            }
            if T.self == MemoryWriteResponse.self {
                return try response.body.withUnsafeReadableBytes { try MemoryWire.decodeCommitResponse($0) } as! T
            }
        } catch let error as MemoryWire.Malformed {
            throw ProtocolMessage(error.description)
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(response.body.readableBytesView))
        } catch let error as DecodingError {
            // The path of the bad field, never the body (it may hold memory content).
            throw ProtocolMessage(ContractError.describe(error))
        }
    }

    private struct ProtocolMessage: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// The plugin's `{code, message, details?}` with the HTTP status; a 4xx/5xx without
    /// one (not our plugin?) still gets a code that fits its status.
    private func contractError(_ response: PluginHTTPResponse, route: String) -> ContractError {
        if var error = try? JSONDecoder().decode(ContractError.self, from: Data(response.body.readableBytesView)) {
            error.status = response.status
            return error
        }
        let code: ErrorCode = switch response.status {
        case 403: .forbidden
        case 404: .notFound
        case 503: .unavailable
        case 500..<600: .internal
        default: .badRequest
        }
        return ContractError(code: code, message: "\(route) answered \(response.status) without a contract error body", status: response.status)
    }

    private func describe(_ error: PluginTransportError, route: String) -> String {
        let target = "memory plugin at \(configuration.authority)"
        switch error {
        case .connectFailed(let why): return "cannot connect to \(target) (\(route)): \(why)"
        case .timedOut: return "no answer from \(target) within \(Self.format(configuration.timeout)) (\(route))"
        case .closed: return "\(target) closed the connection during \(route)"
        case .io(let why, _): return "\(target) connection failed during \(route): \(why)"
        case .busy: return "connection to \(target) was busy (\(route))"
        case .noConnectionInTime:
            return "all \(configuration.maxConnections) connections to \(target) stayed busy for \(Self.format(configuration.timeout)) (\(route))"
        case .tooLarge(let limit): return "the answer to \(route) is larger than \(limit) bytes"
        case .poolShutDown: return "the memory plugin client is shut down"
        }
    }

    private func note(_ transition: CircuitBreaker.Transition?) {
        switch transition {
        case .opened(let failures)?:
            logger.warning("memory plugin circuit breaker opened", metadata: [
                "failures": "\(failures)", "cooldown": "\(Self.format(configuration.breakerCooldown))", "plugin": "\(configuration.authority)",
            ])
        case .closed?:
            logger.notice("memory plugin circuit breaker closed", metadata: ["plugin": "\(configuration.authority)"])
        case nil:
            break
        }
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    static func format(_ duration: Duration) -> String {
        let milliseconds = timeAmount(duration).nanoseconds / 1_000_000
        return milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }
}
