import Hummingbird
import Logging
import MemoryContract
import NIOCore

/// `POST /workspaces/:id/a2a`: one JSON-RPC A2A message to a workspace, from a workspace
/// it may talk to (or an operator). Poll-mode targets get it in their inbox (an
/// `a2a_receive` activity row); push-mode targets get it at their URL, or, when busy,
/// it waits in the queue (202). `GET /workspaces/:id/a2a/queue/:queue_id` follows a
/// queued message.
struct A2ARoutes: Sendable {
    let dependencies: ServerDependencies
    let delivery: A2ADelivery
    let queue: A2AQueue

    func register(on router: Router<TenantRequestContext>) {
        router.post("/workspaces/:id/a2a", use: send)
        router.get("/workspaces/:id/a2a/queue/:queue_id", use: queueStatus)
    }

    struct PollQueued: Encodable {
        let status = "queued"
        let deliveryMode = "poll"
        let method: String

        enum CodingKeys: String, CodingKey {
            case status, method
            case deliveryMode = "delivery_mode"
        }
    }

    struct BusyQueued: Encodable {
        let queued = true
        let queueID: String
        let queueDepth: Int
        let message = "workspace agent busy: request queued, will dispatch when capacity is available"

        enum CodingKeys: String, CodingKey {
            case queued, message
            case queueID = "queue_id"
            case queueDepth = "queue_depth"
        }
    }

    @Sendable func send(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let target = try context.workspaceID()
        let caller = try await A2ACaller.resolve(request, dependencies)
        let message = try A2AMessage(try await Self.body(request))
        if let callerID = caller.workspaceID, callerID != target {
            guard try await PeerDirectory(pool: dependencies.pool).canCommunicate(callerID, target) else {
                throw APIError.forbidden("access denied: workspaces cannot communicate per hierarchy rules")
            }
        }
        guard let view = try await dependencies.workspaces.find(target) else { throw APIError.notFound("workspace not found") }

        if view.deliveryMode == DeliveryMode.poll {
            _ = try await dependencies.activity.insert(.init(
                workspaceID: target, type: "a2a_receive", sourceID: caller.workspaceID, targetID: target, method: message.method,
                summary: "\(message.method) → \(view.name) (queued for poll)", requestBody: A2ADelivery.json(message.bytes), status: "ok"))
            return try JSONResponse.ok(PollQueued(method: message.method))
        }

        guard let slot = try await delivery.reserve(target) else {
            guard let body = A2ADelivery.json(message.bytes) else { throw APIError.badRequest("invalid A2A body") }
            let (id, depth) = try await queue.enqueue(workspaceID: target, callerID: caller.workspaceID, method: message.method, body: body)
            context.logger.info("A2A target busy; queued", metadata: ["workspace_id": "\(target)", "queue_id": "\(id)", "depth": "\(depth)"])
            return try JSONResponse.make(BusyQueued(queueID: id, queueDepth: depth), status: .accepted)
        }
        switch await delivery.deliver(to: slot, from: caller.workspaceID, method: message.method, body: message.bytes) {
        case .replied(let status, let body):
            var headers = HTTPFields()
            headers[.contentType] = "application/json"
            return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
        case .failed(let error):
            throw error
        }
    }

    @Sendable func queueStatus(_ request: Request, context: TenantRequestContext) async throws -> Response {
        let target = try context.workspaceID()
        let queueID = try context.parameters.require("queue_id")
        guard UUIDText.isValid(queueID) else { throw APIError.badRequest("queue_id must be a UUID") }
        let caller = try await A2ACaller.resolve(request, dependencies)
        guard let status = try await queue.status(queueID.lowercased()), status.workspaceID == target else {
            throw APIError.notFound("queue item not found")
        }
        if let callerID = caller.workspaceID, callerID != status.callerID, callerID != status.workspaceID {
            throw APIError.forbidden("access denied")
        }
        return try JSONResponse.ok(status)
    }

    static func body(_ request: Request) async throws -> [UInt8] {
        var request = request
        do {
            return Array(try await request.collectBody(upTo: A2AConfiguration.maxRequestBytes).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge(A2AConfiguration.maxRequestBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.tooLarge(A2AConfiguration.maxRequestBytes)
        }
    }
}
