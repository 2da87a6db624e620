import FoundationEssentials
import HTTPTypes
import Logging
import MemoryContract

/// The MCP messaging tools (the reference's A2A bridge): delegation, peers, the
/// workspace's own record and messages to its user. Each goes through the same code as
/// its HTTP route, so the rules (CanCommunicate, talk_to_user) are enforced once.
struct MessagingTools: Sendable {
    let dependencies: ServerDependencies
    let delegations: DelegationRoutes
    let userMessages: UserMessageRoutes

    /// How long `delegate_task` waits for the target's answer before handing back the
    /// delegation id to check later; the delegation itself keeps running.
    static let resultWait: Duration = .seconds(120)
    static let resultPoll: Duration = .milliseconds(200)

    static let names: Set<String> = [
        "delegate_task", "delegate_task_async", "check_task_status", "list_peers", "get_workspace_info", "send_message_to_user",
    ]

    init(dependencies: ServerDependencies) {
        self.dependencies = dependencies
        delegations = DelegationRoutes(dependencies: dependencies, logger: Logger(label: "delegation"))
        userMessages = UserMessageRoutes(dependencies: dependencies)
    }

    func call(_ name: String, _ arguments: JSONValue?, workspaceID: String) async throws -> String {
        switch name {
        case "delegate_task":
            let args = try ToolArguments(arguments, allowed: ["workspace_id", "task"])
            return try await delegate(args, workspaceID, wait: true)
        case "delegate_task_async":
            let args = try ToolArguments(arguments, allowed: ["workspace_id", "task", "idempotency_key"])
            return try await delegate(args, workspaceID, wait: false)
        case "check_task_status":
            let args = try ToolArguments(arguments, allowed: ["workspace_id", "task_id"])
            return try await checkStatus(args, workspaceID)
        case "list_peers":
            _ = try ToolArguments(arguments, allowed: [])
            return try await listPeers(workspaceID)
        case "get_workspace_info":
            _ = try ToolArguments(arguments, allowed: [])
            return try await workspaceInfo(workspaceID)
        case "send_message_to_user":
            let args = try ToolArguments(arguments, allowed: ["message", "attachments"])
            try await userMessages.send(try args.string("message") ?? "", attachments: try Self.attachments(args), from: workspaceID)
            return #"{"status":"sent"}"#
        default:
            throw APIError.notFound("unknown tool: \(name)")
        }
    }

    /// `attachments` as notify takes them: `[{uri, name, mimeType?, size?}]`.
    static func attachments(_ args: ToolArguments) throws -> [UserMessageRoutes.Attachment] {
        guard let value = args.fields["attachments"], value != .null else { return [] }
        do {
            return try JSONDecoder().decode([UserMessageRoutes.Attachment].self, from: Data(try JSONResponse.encoder.encodeBytes(value)))
        } catch {
            throw APIError.badRequest("attachments must be an array of {uri, name, mimeType, size} objects")
        }
    }

    // MARK: - Delegation

    /// Starts a delegation; with `wait`, returns the target's text once it is done (or
    /// the delegation's status when it outlasts `resultWait`).
    func delegate(_ args: ToolArguments, _ source: String, wait: Bool) async throws -> String {
        guard let target = try args.string("workspace_id") else { throw APIError.badRequest("workspace_id is required") }
        guard let task = try args.string("task") else { throw APIError.badRequest("task is required") }
        let started = try await delegations.start(source: source, targetID: target, task: task,
                                                  idempotencyKey: try args.string("idempotency_key"))
        guard wait else {
            return try MemoryTools.json(JSONValue.object([
                "task_id": .string(started.delegationID), "status": .string("queued"), "target_id": .string(started.targetID),
            ]))
        }
        let deadline = ContinuousClock.now + Self.resultWait
        while ContinuousClock.now < deadline {
            if let entry = try await delegations.ledger.sent(started.delegationID, by: source) {
                if entry.status == "completed" { return entry.responsePreview ?? "" }
                if entry.status == "failed" {
                    throw APIError(.badGateway, code: "delegation_failed", "delegation failed: \(entry.error ?? "no reason given")")
                }
            }
            try await Task.sleep(for: Self.resultPoll)
        }
        return try await status(of: started.delegationID, source: source)
    }

    func checkStatus(_ args: ToolArguments, _ source: String) async throws -> String {
        guard let taskID = try args.string("task_id") else { throw APIError.badRequest("task_id is required") }
        return try await status(of: try DelegationRoutes.delegationID(taskID), source: source, target: try args.string("workspace_id"))
    }

    /// The delegation as the source sees it; one it did not send reads as not found.
    private func status(of taskID: String, source: String, target: String? = nil) async throws -> String {
        guard let entry = try await delegations.ledger.sent(taskID, by: source),
              target == nil || target?.lowercased() == entry.targetID else {
            return try MemoryTools.json(JSONValue.object([
                "task_id": .string(taskID), "status": .string("not_found"), "note": .string("task not tracked by this workspace"),
            ]))
        }
        var result: [String: JSONValue] = [
            "task_id": .string(entry.delegationID), "target_id": .string(entry.targetID), "status": .string(entry.status),
        ]
        if let error = entry.error, !error.isEmpty { result["error"] = .string(error) }
        if let text = entry.responsePreview { result["result"] = .string(text) }
        return try MemoryTools.json(JSONValue.object(result), pretty: true)
    }

    // MARK: - Directory

    /// The workspaces this one may talk to (CanCommunicate), with only what an agent needs.
    func listPeers(_ workspaceID: String) async throws -> String {
        let peers = try await PeerDirectory(pool: dependencies.pool).peers(of: workspaceID)
        guard !peers.isEmpty else { return "No peers found." }
        let list: [JSONValue] = peers.map { peer in
            .object([
                "id": .string(peer.id), "name": .string(peer.name), "role": .string(peer.role ?? ""),
                "status": .string(peer.status), "tier": peer.tier.map { .number(Double($0)) } ?? .null,
            ])
        }
        return try MemoryTools.json(JSONValue.array(list), pretty: true)
    }

    /// The workspace's own identity; never tokens, secrets or its agent URL.
    func workspaceInfo(_ workspaceID: String) async throws -> String {
        guard let view = try await dependencies.workspaces.find(workspaceID) else { throw APIError.notFound("workspace not found") }
        var info: [String: JSONValue] = [
            "id": .string(view.id), "name": .string(view.name), "role": .string(view.role ?? ""), "status": .string(view.status),
            "tier": view.tier.map { .number(Double($0)) } ?? .null, "delivery_mode": .string(view.deliveryMode),
        ]
        if let parent = view.parentID { info["parent_id"] = .string(parent) }
        return try MemoryTools.json(JSONValue.object(info), pretty: true)
    }
}
