import MemoryContract
import Postgres
import Timestamps

/// `a2a_queue`: messages for a busy push-mode workspace, delivered oldest first (higher
/// priority first) as it frees up. A claim moves one item to `dispatched` and takes the
/// target's capacity slot in the same transaction, under the workspace's row lock, so
/// replicas never deliver an item twice and a workspace never gets more at once than
/// `max_concurrent_tasks`.
struct A2AQueue: Sendable {
    let pool: PostgresPool
    static let taskPriority = 50
    static let maxAttempts = 3

    struct Item: Sendable {
        let id: String
        let callerID: String?
        let method: String
        let body: [UInt8]
        let attempts: Int
        let target: A2ADelivery.Target
    }

    /// Stores the message and returns its id and how many items now wait for the workspace.
    func enqueue(workspaceID: String, callerID: String?, method: String, body: PostgresJSON) async throws -> (id: String, depth: Int) {
        let result = try await pool.query("""
            WITH inserted AS (
                INSERT INTO public.a2a_queue (workspace_id, caller_id, priority, body, method)
                VALUES ($1, $2, $3, $4::jsonb, $5) RETURNING id
            )
            SELECT id, (SELECT count(*) FROM public.a2a_queue WHERE workspace_id = $1 AND status = 'queued') + 1 FROM inserted
            """, [workspaceID, callerID, Self.taskPriority, body, method])
        return (try result.rows[0].decode(String.self, at: 0), try result.rows[0].decode(Int.self, at: 1))
    }

    /// Queues a delegation's message at most once: the delegation id is its idempotency
    /// key, so a delegation resumed after a restart is not queued a second time while its
    /// first message still waits or is being delivered. False when it was already there.
    func enqueue(delegationID: String, workspaceID: String, callerID: String, body: PostgresJSON) async throws -> Bool {
        let result = try await pool.query("""
            INSERT INTO public.a2a_queue (workspace_id, caller_id, priority, body, method, idempotency_key)
            VALUES ($1, $2, $3, $4::jsonb, 'message/send', $5)
            ON CONFLICT (workspace_id, idempotency_key) WHERE idempotency_key IS NOT NULL AND status IN ('queued', 'dispatched')
            DO NOTHING RETURNING id
            """, [workspaceID, callerID, Self.taskPriority, body, delegationID])
        return !result.isEmpty
    }

    /// The newest queue item that carried a delegation (by idempotency key, or by the
    /// `metadata.delegation_id` of items queued before keys were set), with its status.
    func item(forDelegation delegationID: String, workspaceID: String) async throws -> (status: String, lastError: String?, response: String?)? {
        let result = try await pool.query("""
            SELECT status, last_error, response_body::text FROM public.a2a_queue
            WHERE workspace_id = $1
              AND (idempotency_key = $2 OR body->'params'->'message'->'metadata'->>'delegation_id' = $2)
            ORDER BY enqueued_at DESC LIMIT 1
            """, [workspaceID, delegationID])
        guard let row = result.first else { return nil }
        return (try row.decode(String.self, at: 0), try row.decode(String?.self, at: 1), try row.decode(String?.self, at: 2))
    }

    /// Workspaces with something queued that may be due.
    func waitingWorkspaces(limit: Int = 100) async throws -> [String] {
        let result = try await pool.query("""
            SELECT DISTINCT workspace_id FROM public.a2a_queue
            WHERE status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= now()) LIMIT $1
            """, [limit])
        return try result.rows.map { try $0.decode(String.self, at: 0) }
    }

    /// Claims the workspace's next item when it has a free slot; nil otherwise.
    func claim(_ workspaceID: String) async throws -> Item? {
        try await pool.transaction { session in
            let workspace = try await session.query("""
                SELECT name, COALESCE(url, ''), platform_inbound_secret FROM public.workspaces
                WHERE id = $1 AND COALESCE(active_tasks, 0) < max_concurrent_tasks AND status IS DISTINCT FROM 'removed'
                FOR UPDATE SKIP LOCKED
                """, [workspaceID])
            guard let target = workspace.first else { return nil }
            let next = try await session.query("""
                SELECT id, caller_id, COALESCE(method, 'message/send'), body::text, attempts FROM public.a2a_queue
                WHERE workspace_id = $1 AND status = 'queued' AND (next_attempt_at IS NULL OR next_attempt_at <= now())
                ORDER BY priority DESC, enqueued_at, id LIMIT 1 FOR UPDATE SKIP LOCKED
                """, [workspaceID])
            guard let row = next.first else { return nil }
            let id = try row.decode(String.self, at: 0)
            try await session.query("""
                UPDATE public.a2a_queue SET status = 'dispatched', dispatched_at = now(), attempts = attempts + 1 WHERE id = $1
                """, [id])
            try await session.query(
                "UPDATE public.workspaces SET active_tasks = COALESCE(active_tasks, 0) + 1 WHERE id = $1", [workspaceID])
            return Item(id: id, callerID: try row.decode(String?.self, at: 1), method: try row.decode(String.self, at: 2),
                        body: Array(try row.decode(String.self, at: 3).utf8), attempts: try row.decode(Int.self, at: 4) + 1,
                        target: .init(id: workspaceID, name: try target.decode(String.self, at: 0), url: try target.decode(String.self, at: 1),
                                      inboundSecret: try target.decode(String?.self, at: 2)))
        }
    }

    func complete(_ id: String, response: PostgresJSON?) async throws {
        try await pool.query("""
            UPDATE public.a2a_queue SET status = 'completed', completed_at = now(), response_body = $2::jsonb, last_error = NULL WHERE id = $1
            """, [id, response])
    }

    /// A failed attempt: back in line after a pause while attempts remain, else failed.
    func failed(_ id: String, attempts: Int, error: String, retry: Bool) async throws {
        if retry && attempts < Self.maxAttempts {
            try await pool.query("""
                UPDATE public.a2a_queue SET status = 'queued', last_error = $2,
                    next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1
                """, [id, error, attempts * 2])
        } else {
            try await pool.query(
                "UPDATE public.a2a_queue SET status = 'failed', completed_at = now(), last_error = $2 WHERE id = $1", [id, error])
        }
    }

    /// Items left `dispatched` by a server that stopped mid-delivery: their outcome is
    /// unknown, so they are failed (never silently sent twice) and their slot returned.
    func failAbandoned(olderThan seconds: Int) async throws -> Int {
        let result = try await pool.query("""
            WITH abandoned AS (
                UPDATE public.a2a_queue SET status = 'failed', completed_at = now(),
                    last_error = 'delivery outcome unknown: the server stopped during delivery'
                WHERE status = 'dispatched' AND dispatched_at < now() - make_interval(secs => $1)
                RETURNING workspace_id
            )
            UPDATE public.workspaces w SET active_tasks = GREATEST(COALESCE(w.active_tasks, 0) - 1, 0)
            FROM abandoned a WHERE w.id = a.workspace_id
            """, [seconds])
        return result.affectedRows
    }

    struct Status: Encodable, Sendable {
        let queueID: String
        let workspaceID: String
        let status: String
        let priority: Int
        let attempts: Int
        let lastError: String?
        let enqueuedAt: Timestamp
        let dispatchedAt: Timestamp?
        let completedAt: Timestamp?
        let responseBody: JSONValue?
        let callerID: String?

        enum CodingKeys: String, CodingKey {
            case status, priority, attempts
            case queueID = "queue_id"
            case workspaceID = "workspace_id"
            case lastError = "last_error"
            case enqueuedAt = "enqueued_at"
            case dispatchedAt = "dispatched_at"
            case completedAt = "completed_at"
            case responseBody = "response_body"
        }
    }

    func status(_ id: String) async throws -> Status? {
        let result = try await pool.query("""
            SELECT id, workspace_id, status, priority, attempts, last_error, enqueued_at, dispatched_at, completed_at,
                   CASE WHEN status = 'completed' THEN response_body END, caller_id
            FROM public.a2a_queue WHERE id = $1
            """, [id])
        guard let row = result.first else { return nil }
        return Status(queueID: try row.decode(String.self, at: 0), workspaceID: try row.decode(String.self, at: 1),
                      status: try row.decode(String.self, at: 2), priority: try row.decode(Int.self, at: 3),
                      attempts: try row.decode(Int.self, at: 4), lastError: try row.decode(String?.self, at: 5),
                      enqueuedAt: try row.decode(Timestamp.self, at: 6), dispatchedAt: try row.decode(Timestamp?.self, at: 7),
                      completedAt: try row.decode(Timestamp?.self, at: 8),
                      responseBody: try row.decode(PostgresJSON?.self, at: 9).flatMap { try? $0.decode(JSONValue.self) },
                      callerID: try row.decode(String?.self, at: 10))
    }
}
