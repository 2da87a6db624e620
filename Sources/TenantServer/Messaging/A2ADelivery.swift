import FoundationEssentials
import HTTPTypes
import Logging
import MemoryContract
import Postgres

/// Sends one A2A message to a push-mode agent and records it: the target's capacity
/// slot (taken by the caller through `reserve` or the queue's claim) is given back, and
/// an `a2a_receive` activity row is written with the reply.
struct A2ADelivery: Sendable {
    let pool: PostgresPool
    let activity: ActivityStore
    let events: EventBus
    let client: AgentHTTPClient
    let logger: Logger

    struct Target: Sendable {
        let id: String
        let name: String
        let url: String
        let inboundSecret: String?
    }

    /// What the caller of `/a2a` gets back.
    enum Outcome: Sendable {
        case replied(status: Int, body: [UInt8])
        case failed(APIError)
    }

    /// Takes a capacity slot of a push-mode target when it has one and nothing is queued
    /// ahead; nil means the message must queue.
    func reserve(_ workspaceID: String) async throws -> Target? {
        let result = try await pool.query("""
            UPDATE public.workspaces SET active_tasks = COALESCE(active_tasks, 0) + 1
            WHERE id = $1 AND COALESCE(active_tasks, 0) < max_concurrent_tasks
              AND NOT EXISTS (SELECT 1 FROM public.a2a_queue q WHERE q.workspace_id = $1 AND q.status = 'queued')
            RETURNING name, COALESCE(url, ''), platform_inbound_secret
            """, [workspaceID])
        guard let row = result.first else { return nil }
        return Target(id: workspaceID, name: try row.decode(String.self, at: 0), url: try row.decode(String.self, at: 1),
                      inboundSecret: try row.decode(String?.self, at: 2))
    }

    func release(_ workspaceID: String) async {
        do {
            try await pool.query(
                "UPDATE public.workspaces SET active_tasks = GREATEST(COALESCE(active_tasks, 0) - 1, 0) WHERE id = $1", [workspaceID])
        } catch {
            logger.warning("could not release an A2A capacity slot", metadata: ["workspace_id": "\(workspaceID)", "error": "\(error)"])
        }
    }

    /// Delivers, releases the slot and logs. Never throws: failures are outcomes.
    func deliver(to target: Target, from caller: String?, method: String, body: [UInt8]) async -> Outcome {
        let started = ContinuousClock.now
        var headers: [(String, String)] = []
        if let secret = target.inboundSecret { headers.append(("Authorization", "Bearer \(secret)")) }
        if let caller { headers.append(("X-Workspace-ID", caller)) }
        let outcome: Outcome
        if target.url.isEmpty {
            outcome = .failed(APIError.unavailable("workspace has no URL yet"))
        } else {
            do {
                let reply = try await client.post(target.url, body: body, headers: headers)
                if (200..<300).contains(reply.status) && reply.body.isEmpty {
                    outcome = .failed(APIError(.badGateway, code: "bad_gateway", "agent returned empty response body"))
                } else {
                    outcome = .replied(status: reply.status, body: reply.body)
                }
            } catch {
                outcome = .failed(Self.apiError(error))
            }
        }
        await release(target.id)
        let elapsed = ContinuousClock.now - started
        let milliseconds = Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
        await record(target: target, caller: caller, method: method, body: body, outcome: outcome, durationMs: milliseconds)
        return outcome
    }

    private func record(target: Target, caller: String?, method: String, body: [UInt8], outcome: Outcome, durationMs: Int) async {
        var response: PostgresJSON?
        var status = "ok"
        var errorDetail: String?
        switch outcome {
        case .replied(let code, let reply):
            response = Self.json(reply)
            if code >= 400 { status = "error"; errorDetail = "agent answered HTTP \(code)" }
        case .failed(let error):
            status = "error"
            errorDetail = error.message
        }
        do {
            _ = try await activity.insert(.init(
                workspaceID: target.id, type: "a2a_receive", sourceID: caller, targetID: target.id, method: method,
                summary: "\(method) → \(target.name)", requestBody: Self.json(body), responseBody: response,
                durationMs: durationMs, status: status, errorDetail: errorDetail))
        } catch {
            logger.warning("could not log an A2A delivery", metadata: ["workspace_id": "\(target.id)", "error": "\(error)"])
        }
        if caller == nil, case .replied(let code, let reply) = outcome, code < 400,
           let value = try? JSONDecoder().decode(JSONValue.self, from: Data(reply)) {
            await events.emit(EventName.a2aResponse, workspaceID: target.id,
                              payload: .object(["response_body": value, "method": .string(method), "duration_ms": .number(Double(durationMs))]))
        }
    }

    /// JSON text for a jsonb column, or nil when the bytes are not JSON.
    static func json(_ bytes: [UInt8]) -> PostgresJSON? {
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)) else { return nil }
        return try? ActivityRoutes.json(value)
    }

    static func apiError(_ failure: AgentHTTPClient.Failure) -> APIError {
        switch failure {
        case .blocked(let reason): APIError(.badGateway, code: "blocked_address", "agent \(reason)")
        case .unsupported(let reason): APIError(.badGateway, code: "bad_gateway", reason)
        case .unreachable(let reason): APIError(.badGateway, code: "agent_unreachable", "workspace agent unreachable: \(reason)")
        case .timedOut: APIError(.gatewayTimeout, code: "agent_timeout", "workspace agent did not answer in time")
        case .tooLarge(let limit): APIError(.badGateway, code: "too_large", "agent response is larger than \(limit) bytes")
        case .closedEarly: APIError(.badGateway, code: "agent_unreachable", "workspace agent closed the connection before answering")
        case .tls(let reason): APIError(.badGateway, code: "agent_tls_failed", "TLS with the workspace agent failed: \(reason)")
        }
    }
}
