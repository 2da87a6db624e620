import Logging
import Postgres
import Synchronization

/// Keeps the planner's statistics current after bulk writes. Autovacuum analyzes a table
/// only after 10% of it changed and up to a minute later; right after a backfill or an
/// import the planner would still think the table small and sort whole namespaces for a
/// listing. So once bulk writes add `threshold` rows, one ANALYZE runs `delay` later;
/// batches arriving meanwhile are covered by that same run.
public final class StatisticsRefresh: Sendable {
    private struct State {
        var rowsSinceAnalyze = 0
        var scheduled = false
    }

    private let pool: PostgresPool
    private let threshold: Int
    private let delay: Duration
    private let logger: Logger
    private let state = Mutex(State())

    public init(pool: PostgresPool, threshold: Int = 1000, delay: Duration = .seconds(10), logger: Logger = Logger(label: "memory-plugin")) {
        self.pool = pool
        self.threshold = threshold
        self.delay = delay
        self.logger = logger
    }

    /// Counts rows a bulk write added or changed, and schedules an ANALYZE when due.
    public func noteBulkWrite(rows: Int) {
        let start = state.withLock { state -> Bool in
            state.rowsSinceAnalyze += rows
            guard state.rowsSinceAnalyze >= threshold, !state.scheduled else { return false }
            state.scheduled = true
            return true
        }
        guard start else { return }
        Task { [self] in
            try? await Task.sleep(for: delay)
            state.withLock { state in
                state.rowsSinceAnalyze = 0
                state.scheduled = false
            }
            do {
                try await pool.query("ANALYZE memory_plugin.memory_records")
                logger.debug("analyzed memory_plugin.memory_records after bulk writes")
            } catch {
                logger.warning("could not analyze memory_plugin.memory_records after bulk writes", metadata: ["error": "\(error)"])
            }
        }
    }
}
