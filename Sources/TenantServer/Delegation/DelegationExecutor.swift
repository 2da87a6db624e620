import FoundationEssentials
import Logging
import MemoryContract

/// Carries a delegation out: sends the task as an A2A `message/send` (message id and
/// `metadata.delegation_id` = the delegation id) the way `/a2a` would, and records the
/// result in the ledger. A busy target queues it; the queue drainer settles it later.
/// A poll-mode target finds it in its inbox and answers the source with an A2A message;
/// the source records the result with `/update` (only the source may), else the
/// delegation fails at its deadline.
///
/// While it waits for a push-mode agent's answer it holds a lease on the delegation
/// (`last_heartbeat`, renewed every third of `lease`), so if this server dies the others
/// know the answer will never come (`DelegationRecovery`).
struct DelegationExecutor: Sendable {
    let ledger: DelegationLedger
    let delivery: A2ADelivery
    let queue: A2AQueue
    let workspaces: WorkspaceStore
    let inFlight: InFlightDelegations
    let lease: Duration

    static func a2aBody(delegationID: String, task: String) throws -> JSONValue {
        .object([
            "jsonrpc": .string("2.0"), "id": .string(delegationID), "method": .string("message/send"),
            "params": .object(["message": .object([
                "role": .string("user"), "messageId": .string(delegationID),
                "parts": .array([.object(["kind": .string("text"), "text": .string(task)])]),
                "metadata": .object(["delegation_id": .string(delegationID)]),
            ])]),
        ])
    }

    /// - Parameter resumed: the delegation was cut off before it was sent (found by the
    ///   recovery sweep); a poll-mode inbox row it may already have is not written twice.
    func run(delegationID: String, source: String, target: String, task: String, resumed: Bool = false) async {
        do {
            let body = try Self.a2aBody(delegationID: delegationID, task: task)
            let bytes = try JSONResponse.encoder.encodeBytes(body)
            guard let view = try await workspaces.find(target) else {
                await ledger.finish(delegationID, source: source, target: target, completed: false, text: nil, error: "target workspace not found")
                return
            }
            if view.deliveryMode == DeliveryMode.poll {
                if resumed, try await ledger.inboxHolds(delegationID, target: target) {
                    await status(delegationID, source: source, target: target, "dispatched")
                    return
                }
                _ = try await ledger.activity.insert(.init(
                    workspaceID: target, type: "a2a_receive", sourceID: source, targetID: target, method: "message/send",
                    summary: "message/send → \(view.name) (queued for poll)", requestBody: A2ADelivery.json(bytes), status: "ok"))
                await status(delegationID, source: source, target: target, "dispatched")
                return
            }
            guard let slot = try await delivery.reserve(target) else {
                guard let json = A2ADelivery.json(bytes) else { return }
                _ = try await queue.enqueue(delegationID: delegationID, workspaceID: target, callerID: source, body: json)
                await status(delegationID, source: source, target: target, "queued")
                return
            }
            await status(delegationID, source: source, target: target, "dispatched", leased: true)
            inFlight.begin(delegationID, source: source, target: target)
            let ledger = self.ledger, renewEvery = lease / 3
            let renewal = Task {
                while !Task.isCancelled {
                    do { try await Task.sleep(for: renewEvery) } catch { return }
                    await ledger.renewLease(delegationID)
                }
            }
            let outcome = await delivery.deliver(to: slot, from: source, method: "message/send", body: bytes)
            renewal.cancel()
            inFlight.end(delegationID)
            await settle(delegationID, source: source, target: target, outcome: outcome)
        } catch {
            await ledger.finish(delegationID, source: source, target: target, completed: false, text: nil, error: "could not dispatch the delegation")
        }
    }

    func settle(_ delegationID: String, source: String, target: String, outcome: A2ADelivery.Outcome) async {
        switch outcome {
        case .replied(let status, let body) where status < 400:
            if let error = Self.rpcError(body) {
                await ledger.finish(delegationID, source: source, target: target, completed: false, text: nil, error: error)
            } else {
                await ledger.finish(delegationID, source: source, target: target, completed: true, text: Self.text(body), error: nil)
            }
        case .replied(let status, _):
            await ledger.finish(delegationID, source: source, target: target, completed: false, text: nil, error: "agent answered HTTP \(status)")
        case .failed(let error):
            await ledger.finish(delegationID, source: source, target: target, completed: false, text: nil, error: error.message)
        }
    }

    private func status(_ delegationID: String, source: String, target: String, _ status: String, leased: Bool = false) async {
        await ledger.setStatus(delegationID, status, leased: leased)
        await ledger.events.emit(EventName.delegationStatus, workspaceID: source, payload: .object([
            "delegation_id": .string(delegationID), "target_id": .string(target), "status": .string(status),
        ]))
    }

    /// The text of a JSON-RPC result: message parts, else artifact parts.
    static func text(_ body: [UInt8]) -> String {
        guard case .object(let top)? = try? JSONDecoder().decode(JSONValue.self, from: Data(body)),
              case .object(let result)? = top["result"] else { return "" }
        func texts(_ parts: JSONValue?) -> [String] {
            guard case .array(let items)? = parts else { return [] }
            return items.compactMap { item in
                guard case .object(let part) = item, case .string(let text)? = part["text"] else { return nil }
                return text
            }
        }
        var found = texts(result["parts"])
        if found.isEmpty, case .array(let artifacts)? = result["artifacts"] {
            for case .object(let artifact) in artifacts { found += texts(artifact["parts"]) }
        }
        return found.joined(separator: "\n")
    }

    static func rpcError(_ body: [UInt8]) -> String? {
        guard case .object(let top)? = try? JSONDecoder().decode(JSONValue.self, from: Data(body)), let error = top["error"] else { return nil }
        if case .object(let object) = error, case .string(let message)? = object["message"] { return message }
        if case .string(let message) = error { return message }
        return "agent answered a JSON-RPC error"
    }

    /// The delegation a queued A2A body belongs to (`params.message.metadata.delegation_id`).
    static func delegationID(ofQueuedBody body: [UInt8]) -> String? {
        guard case .object(let top)? = try? JSONDecoder().decode(JSONValue.self, from: Data(body)),
              case .object(let params)? = top["params"], case .object(let message)? = params["message"],
              case .object(let metadata)? = message["metadata"], case .string(let id)? = metadata["delegation_id"] else { return nil }
        return id
    }
}
