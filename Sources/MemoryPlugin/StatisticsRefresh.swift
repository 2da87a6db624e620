import Logging
import Postgres
import Synchronization

/// Keeps the planner's statistics current after bulk writes. Autovacuum analyzes a table
/// only after 10% of it changed and up to a minute later; right after a backfill or an
/// import the planner would still think the table small and sort whole namespaces for a
/// listing. So once bulk writes add `threshold` rows, one ANALYZE runs when they have
/// paused for `delay`, or `maxDelay` after the first of them at the latest: a backfill
/// gets one ANALYZE at its end instead of one every `delay` (each samples the table and
/// its full-text vectors, about a tenth of the database's work during a backfill).
public final class StatisticsRefresh: Sendable {
    private struct State {
        var rowsSinceAnalyze = 0
        var scheduled = false
        var firstWrite = ContinuousClock.now
        var lastWrite = ContinuousClock.now
    }

    private let pool: PostgresPool
    private let threshold: Int
    private let delay: Duration
    private let maxDelay: Duration
    private let logger: Logger
    private let state = Mutex(State())

    public init(
        pool: PostgresPool, threshold: Int = 1000, delay: Duration = .seconds(10), maxDelay: Duration = .seconds(60),
        logger: Logger = Logger(label: "memory-plugin")
    ) {
        self.pool = pool
        self.threshold = threshold
        self.delay = delay
        self.maxDelay = maxDelay
        self.logger = logger
    }

    /// Counts rows a bulk write added or changed, and schedules an ANALYZE when due.
    public func noteBulkWrite(rows: Int) {
        let now = ContinuousClock.now
        let start = state.withLock { state -> Bool in
            state.rowsSinceAnalyze += rows
            state.lastWrite = now
            guard state.rowsSinceAnalyze >= threshold, !state.scheduled else { return false }
            state.scheduled = true
            state.firstWrite = now
            return true
        }
        guard start else { return }
        Task { [self] in
            while true {
                let due = state.withLock { min($0.lastWrite + delay, $0.firstWrite + maxDelay) }
                if due <= .now { break }
                try? await Task.sleep(until: due, clock: .continuous)
            }
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
