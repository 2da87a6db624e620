import Logging
import MemoryContract
import Postgres
import Timestamps

/// The `delegations` table plus the activity rows and events that announce each
/// change, so the source sees progress on `/delegations`, in its activity and on its
/// event streams.
struct DelegationLedger: Sendable {
    let pool: PostgresPool
    let activity: ActivityStore
    let events: EventBus
    let logger: Logger

    static let previewBytes = 300

    /// Inserts a new delegation; with an idempotency key already used by this source,
    /// returns the earlier delegation instead (nil when the row is new). A failed earlier
    /// delegation gives its key up (it stays in the history without it), so a retry with
    /// the same key, as the runtime makes after a failure, is carried out, as in the reference.
    func insert(id: String, source: String, target: String, task: String, status: String,
                idempotencyKey: String?) async throws -> (id: String, status: String)? {
        if let idempotencyKey {
            try await pool.query("""
                UPDATE public.delegations SET idempotency_key = NULL, updated_at = now()
                WHERE caller_id = $1 AND idempotency_key = $2 AND status = 'failed'
                """, [source, idempotencyKey])
        }
        let inserted = try await pool.query("""
            INSERT INTO public.delegations (delegation_id, caller_id, callee_id, task_preview, status, idempotency_key)
            VALUES ($1, $2, $3, $4, $5, $6)
            ON CONFLICT DO NOTHING RETURNING delegation_id
            """, [id, source, target, String(task.prefix(Self.previewBytes)), status, idempotencyKey])
        guard inserted.isEmpty else { return nil }
        let existing = try await pool.query("""
            SELECT delegation_id, status FROM public.delegations
            WHERE (caller_id = $1 AND idempotency_key = $2) OR delegation_id = $3 LIMIT 1
            """, [source, idempotencyKey, id])
        guard let row = existing.first else { throw APIError.conflict("delegation could not be recorded") }
        return (try row.decode(String.self, at: 0), try row.decode(String.self, at: 1))
    }

    /// A new status for an unfinished delegation. `leased` starts the lease of a delivery
    /// this server is making (`last_heartbeat`, renewed by `renewLease`).
    func setStatus(_ id: String, _ status: String, leased: Bool = false) async {
        do {
            try await pool.query("""
                UPDATE public.delegations SET status = $2, updated_at = now(),
                    last_heartbeat = CASE WHEN $3 THEN now() ELSE last_heartbeat END
                WHERE delegation_id = $1 AND status NOT IN ('completed', 'failed')
                """, [id, status, leased])
        } catch {
            logger.warning("could not update a delegation", metadata: ["delegation_id": "\(id)", "error": "\(error)"])
        }
    }

    /// The terminal transition, once: a later report for a finished delegation changes nothing.
    @discardableResult
    func finish(_ id: String, source: String, target: String?, completed: Bool, text: String?, error: String?) async -> Bool {
        do {
            let result = try await pool.query("""
                UPDATE public.delegations SET status = $2, result_preview = $3, error_detail = $4, updated_at = now()
                WHERE delegation_id = $1 AND status NOT IN ('completed', 'failed')
                """, [id, completed ? "completed" : "failed", text, error])
            guard result.affectedRows > 0 else { return false }
            let response = try ActivityRoutes.json(.object(completed
                ? ["text": .string(text ?? ""), "delegation_id": .string(id)]
                : ["error": .string(error ?? ""), "delegation_id": .string(id)]))
            _ = try await activity.insert(.init(
                workspaceID: source, type: "delegation", sourceID: source, targetID: target, method: "delegate_result",
                summary: completed ? "Delegation completed (\((text ?? "").preview(80)))" : "Delegation failed (\((error ?? "").preview(80)))",
                responseBody: response, status: completed ? "completed" : "failed", errorDetail: completed ? nil : error))
        } catch {
            logger.warning("could not record a delegation result", metadata: ["delegation_id": "\(id)", "error": "\(error)"])
            return false
        }
        var payload: [String: JSONValue] = ["delegation_id": .string(id)]
        if let target { payload["target_id"] = .string(target) }
        if completed {
            payload["response_preview"] = .string((text ?? "").preview(200))
        } else {
            payload["error"] = .string(error ?? "")
        }
        await events.emit(completed ? EventName.delegationComplete : EventName.delegationFailed, workspaceID: source, payload: .object(payload))
        return true
    }

    /// Shows the delivering server is still alive and waiting for the agent.
    func renewLease(_ id: String) async {
        do {
            try await pool.query(
                "UPDATE public.delegations SET last_heartbeat = now() WHERE delegation_id = $1 AND status = 'dispatched'", [id])
        } catch {
            logger.warning("could not renew a delegation lease", metadata: ["delegation_id": "\(id)", "error": "\(error)"])
        }
    }

    struct Pending: Sendable {
        let id: String
        let source: String
        let target: String
    }

    /// Deliveries whose server stopped renewing their lease: it died mid-delivery.
    /// Only the server's own push deliveries hold a lease (`last_heartbeat` set); agents'
    /// recorded delegations and poll-mode ones have none and wait for their report.
    func lapsedLeases(olderThan lease: Duration) async throws -> [Pending] {
        let result = try await pool.query("""
            SELECT delegation_id, caller_id::text, callee_id::text FROM public.delegations
            WHERE status = 'dispatched' AND last_heartbeat < now() - make_interval(secs => $1) LIMIT 100
            """, [Double(lease.components.seconds)])
        return try result.rows.map { Pending(id: try $0.decode(String.self, at: 0), source: try $0.decode(String.self, at: 1),
                                             target: try $0.decode(String.self, at: 2)) }
    }

    /// Delegations still `queued` after `age` without a message waiting or in delivery in
    /// the A2A queue: either never sent (the server stopped right after accepting them) or
    /// their queued message reached an end the ledger never heard of.
    func stranded(olderThan age: Duration) async throws -> [Pending] {
        let result = try await pool.query("""
            SELECT d.delegation_id, d.caller_id::text, d.callee_id::text FROM public.delegations d
            WHERE d.status = 'queued' AND d.updated_at < now() - make_interval(secs => $1)
              AND NOT EXISTS (
                SELECT 1 FROM public.a2a_queue q
                WHERE q.workspace_id = d.callee_id AND q.status IN ('queued', 'dispatched')
                  AND (q.idempotency_key = d.delegation_id
                       OR q.body->'params'->'message'->'metadata'->>'delegation_id' = d.delegation_id))
            ORDER BY d.updated_at LIMIT 100
            """, [Double(age.components.seconds)])
        return try result.rows.map { Pending(id: try $0.decode(String.self, at: 0), source: try $0.decode(String.self, at: 1),
                                             target: try $0.decode(String.self, at: 2)) }
    }

    /// Takes a stranded delegation for resuming, once across replicas: returns how many
    /// times it has been resumed, or nil when another replica (or its own executor) moved it.
    func claimForResume(_ id: String, olderThan age: Duration) async throws -> Int? {
        let result = try await pool.query("""
            UPDATE public.delegations SET retry_count = retry_count + 1, updated_at = now()
            WHERE delegation_id = $1 AND status = 'queued' AND updated_at < now() - make_interval(secs => $2)
            RETURNING retry_count
            """, [id, Double(age.components.seconds)])
        return try result.first?.decode(Int.self, at: 0)
    }

    /// The whole task text, from the `delegate` activity row written when it was accepted
    /// (the ledger keeps only a preview).
    func task(of id: String, source: String) async throws -> String? {
        let result = try await pool.query("""
            SELECT request_body->>'task' FROM public.activity_logs
            WHERE workspace_id = $1 AND activity_type = 'delegation' AND method = 'delegate'
              AND request_body->>'delegation_id' = $2
            LIMIT 1
            """, [source, id])
        return try result.first?.decode(String?.self, at: 0)
    }

    /// Whether a poll-mode target's inbox already holds the delegation's message.
    func inboxHolds(_ id: String, target: String) async throws -> Bool {
        let result = try await pool.query("""
            SELECT 1 FROM public.activity_logs
            WHERE workspace_id = $1 AND activity_type = 'a2a_receive'
              AND request_body->'params'->'message'->>'messageId' = $2 LIMIT 1
            """, [target, id])
        return !result.isEmpty
    }

    /// Fails every unfinished delegation past its deadline (6 hours by default), e.g. one
    /// whose delivery was cut off by a server restart, so no source waits forever.
    func failOverdue() async -> Int {
        do {
            let overdue = try await pool.query("""
                SELECT delegation_id, caller_id::text, callee_id::text FROM public.delegations
                WHERE status NOT IN ('completed', 'failed') AND deadline < now() LIMIT 100
                """)
            var failed = 0
            for row in overdue.rows {
                let finished = await finish(try row.decode(String.self, at: 0), source: try row.decode(String.self, at: 1),
                                            target: try row.decode(String.self, at: 2), completed: false, text: nil,
                                            error: "deadline passed without a result")
                if finished { failed += 1 }
            }
            return failed
        } catch {
            logger.warning("could not sweep overdue delegations", metadata: ["error": "\(error)"])
            return 0
        }
    }

    /// What `GET /workspaces/:id/delegations` returns: both directions, newest first.
    struct Entry: Encodable, Sendable {
        let delegationID: String
        let sourceID: String
        let targetID: String
        let direction: String
        let summary: String
        let status: String
        let responsePreview: String?
        let error: String?
        let lastHeartbeat: Timestamp?
        let deadline: Timestamp
        let createdAt: Timestamp
        let updatedAt: Timestamp
        let ledger = true

        enum CodingKeys: String, CodingKey {
            case direction, summary, status, error, deadline
            case delegationID = "delegation_id"
            case sourceID = "source_id"
            case targetID = "target_id"
            case responsePreview = "response_preview"
            case errorDetail = "error_detail"
            case lastHeartbeat = "last_heartbeat"
            case createdAt = "created_at"
            case updatedAt = "updated_at"
            case ledger = "_ledger"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(delegationID, forKey: .delegationID)
            try container.encode(sourceID, forKey: .sourceID)
            try container.encode(targetID, forKey: .targetID)
            try container.encode(direction, forKey: .direction)
            try container.encode(summary, forKey: .summary)
            try container.encode(status, forKey: .status)
            try container.encodeIfPresent(responsePreview, forKey: .responsePreview)
            try container.encodeIfPresent(error, forKey: .error)
            try container.encodeIfPresent(error, forKey: .errorDetail)
            try container.encodeIfPresent(lastHeartbeat, forKey: .lastHeartbeat)
            try container.encode(deadline, forKey: .deadline)
            try container.encode(createdAt, forKey: .createdAt)
            try container.encode(updatedAt, forKey: .updatedAt)
            try container.encode(ledger, forKey: .ledger)
        }
    }

    /// The stored result is the whole answer (bounded by `A2A_MAX_RESPONSE_BYTES`), which
    /// `delegate_task` and `check_task_status` return; listings read only its start.
    static let entryColumns = columns(result: "left(result_preview, \(previewBytes + 1))")
    static let wholeEntryColumns = columns(result: "result_preview")

    private static func columns(result: String) -> String {
        "delegation_id, caller_id, callee_id, task_preview, status, \(result), error_detail, last_heartbeat, deadline, created_at, updated_at"
    }

    func list(_ workspaceID: String) async throws -> [Entry] {
        let result = try await pool.query("""
            SELECT \(Self.entryColumns)
            FROM public.delegations WHERE caller_id = $1 OR callee_id = $1
            ORDER BY created_at DESC, delegation_id LIMIT 50
            """, [workspaceID])
        return try result.rows.map { try Self.entry($0, seenFrom: workspaceID) }
    }

    /// One delegation this workspace sent, or nil (unknown, or someone else's), with the
    /// whole stored result, not the listing's short preview.
    func sent(_ delegationID: String, by source: String) async throws -> Entry? {
        let result = try await pool.query("""
            SELECT \(Self.wholeEntryColumns) FROM public.delegations WHERE delegation_id = $1 AND caller_id = $2
            """, [delegationID, source])
        return try result.first.map { try Self.entry($0, seenFrom: source, resultLimit: .max) }
    }

    private static func entry(_ row: PostgresRow, seenFrom workspaceID: String, resultLimit: Int = previewBytes) throws -> Entry {
        let source = try row.decode(String.self, at: 1)
        return Entry(delegationID: try row.decode(String.self, at: 0), sourceID: source, targetID: try row.decode(String.self, at: 2),
                     direction: source == workspaceID ? "sent" : "received", summary: try row.decode(String.self, at: 3).preview(200),
                     status: try row.decode(String.self, at: 4), responsePreview: try row.decode(String?.self, at: 5).map { $0.preview(resultLimit) },
                     error: try row.decode(String?.self, at: 6), lastHeartbeat: try row.decode(Timestamp?.self, at: 7),
                     deadline: try row.decode(Timestamp.self, at: 8), createdAt: try row.decode(Timestamp.self, at: 9),
                     updatedAt: try row.decode(Timestamp.self, at: 10))
    }
}
