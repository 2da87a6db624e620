import Logging
import Postgres

/// Keeps `structure_events` from growing forever: deletes events older than the
/// retention (`EVENTS_RETENTION`, default 7 days) at boot and then every `interval`, in
/// batches so no statement runs long or holds many locks. Every replica runs it; the
/// batches skip rows another replica is deleting (`SKIP LOCKED`), so replicas share
/// the work instead of waiting on each other, and deleting is idempotent anyway.
struct EventRetention: Sendable {
    let pool: PostgresPool
    let retention: Duration
    let interval: Duration
    let logger: Logger
    var batchSize = 5000

    func run() async {
        while !Task.isCancelled {
            let deleted = await prune()
            if deleted > 0 { logger.info("pruned old events", metadata: ["deleted": "\(deleted)", "retention": "\(retention)"]) }
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }

    /// Deletes every event past the retention; returns how many went.
    func prune() async -> Int {
        let seconds = Double(retention.components.seconds)
        var total = 0
        while !Task.isCancelled {
            do {
                let result = try await pool.query("""
                    DELETE FROM public.structure_events WHERE id IN (
                        SELECT id FROM public.structure_events
                        WHERE created_at < now() - make_interval(secs => $1)
                        LIMIT $2 FOR UPDATE SKIP LOCKED)
                    """, [seconds, batchSize])
                total += result.affectedRows
                if result.affectedRows < batchSize { break }
                // Between batches, give the database's other work a turn.
                try await Task.sleep(for: .milliseconds(20))
            } catch is CancellationError {
                break
            } catch {
                logger.warning("could not prune old events; trying again later", metadata: ["error": "\(error)"])
                break
            }
        }
        return total
    }
}
