import FoundationEssentials
import Logging
import Postgres
import RedisClient

/// A workspace is alive while its Redis key `ws:<id>` exists. Register and heartbeat
/// refresh it with `SET key EX ttl` (a SET, so a key that expired a moment ago comes
/// back too); when it expires the workspace is marked offline in the database and the
/// change is published on `workspace-events` for whoever fans events out.
struct LivenessTracker: Sendable {
    let pool: PostgresPool
    let redis: RedisClient
    let ttlSeconds: Int
    /// Redis pub/sub channel carrying one JSON object per status change.
    static let eventsChannel = "molecule:workspace-events"

    static func key(_ workspaceID: String) -> String { "ws:\(workspaceID)" }

    /// Refreshes liveness; a Redis failure is logged, not fatal: the database status
    /// was already written and the next heartbeat tries again.
    func refresh(_ workspaceID: String, logger: Logger) async {
        do {
            try await redis.set(Self.key(workspaceID), "online", expireSeconds: ttlSeconds)
        } catch {
            logger.warning("could not refresh liveness", metadata: ["workspace_id": "\(workspaceID)", "error": "\(error)"])
        }
    }

    func forget(_ workspaceID: String, logger: Logger) async {
        do {
            try await redis.del(Self.key(workspaceID))
            await publish(StatusEvent(workspaceID: workspaceID, status: WorkspaceStatus.removed.rawValue, previous: nil), logger: logger)
        } catch {
            logger.warning("could not clear liveness", metadata: ["workspace_id": "\(workspaceID)", "error": "\(error)"])
        }
    }

    /// Marks the workspace offline (external runtimes: awaiting_agent, as the
    /// reference's sweep does) when it is online or degraded, its key is gone and its
    /// last heartbeat is older than the window. Returns the new status when it changed.
    @discardableResult
    func expire(_ workspaceID: String, logger: Logger) async throws -> String? {
        // A heartbeat may have re-created the key since the expiry was noticed.
        guard try await redis.exists(Self.key(workspaceID)) == 0 else { return nil }
        let result = try await pool.query("""
            WITH previous AS (SELECT id, status FROM public.workspaces WHERE id = $1 FOR UPDATE)
            UPDATE public.workspaces w SET
                status = CASE WHEN w.runtime = 'external' THEN 'awaiting_agent'::public.workspace_status
                              ELSE 'offline'::public.workspace_status END,
                updated_at = now()
            FROM previous
            WHERE w.id = previous.id AND w.status IN ('online', 'degraded')
              AND (w.last_heartbeat_at IS NULL OR w.last_heartbeat_at < now() - make_interval(secs => $2))
            RETURNING w.status::text, previous.status::text
            """, [workspaceID, max(ttlSeconds - 1, 0)])
        guard let row = result.first else { return nil }
        let status = try row.decode(String.self, at: 0)
        logger.notice("workspace went silent", metadata: ["workspace_id": "\(workspaceID)", "status": "\(status)"])
        await publish(StatusEvent(workspaceID: workspaceID, status: status, previous: try row.decode(String?.self, at: 1)), logger: logger)
        return status
    }

    struct StatusEvent: Encodable, Sendable {
        let event = "WORKSPACE_STATUS"
        let workspaceID: String
        let status: String
        let previous: String?

        enum CodingKeys: String, CodingKey {
            case event, status, previous
            case workspaceID = "workspace_id"
        }
    }

    func publish(_ event: StatusEvent, logger: Logger) async {
        do {
            let bytes = try JSONResponse.encoder.encodeBytes(event)
            try await redis.publish(Self.eventsChannel, String(decoding: bytes, as: UTF8.self))
        } catch {
            logger.warning("could not publish status change", metadata: ["workspace_id": "\(event.workspaceID)", "error": "\(error)"])
        }
    }
}
