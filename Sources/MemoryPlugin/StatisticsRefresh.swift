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
///
/// Single commits count too, but only once they have at least doubled the table since its
/// last statistics (`noteCommit`): agents writing tens of thousands of memories into a
/// young tenant within a minute left the planner with a table it thought small, and a
/// full-text search then cost 150 ms instead of 5 until autovacuum caught up. Such an
/// ANALYZE runs `growthDelay` after the doubling, without waiting for the writes to pause.
public final class StatisticsRefresh: Sendable {
    private struct State {
        var rowsSinceAnalyze = 0
        var commitsSinceAnalyze = 0
        /// The table's row estimate after the last ANALYZE this process ran (0 before).
        var rowsAtAnalyze = 0
        var scheduled = false
        var grown = false
        var firstWrite = ContinuousClock.now
        var lastWrite = ContinuousClock.now
    }

    private let pool: PostgresPool
    private let threshold: Int
    private let delay: Duration
    private let maxDelay: Duration
    private let growthDelay: Duration
    private let logger: Logger
    private let state = Mutex(State())

    public init(
        pool: PostgresPool, threshold: Int = 1000, delay: Duration = .seconds(10), maxDelay: Duration = .seconds(60),
        growthDelay: Duration = .seconds(1), logger: Logger = Logger(label: "memory-plugin")
    ) {
        self.pool = pool
        self.threshold = threshold
        self.delay = delay
        self.maxDelay = maxDelay
        self.growthDelay = growthDelay
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
        if start { schedule() }
    }

    /// Counts one committed memory; schedules a prompt ANALYZE once single commits have at
    /// least doubled the table (and added `threshold` rows) since the last one.
    public func noteCommit() {
        let now = ContinuousClock.now
        let start = state.withLock { state -> Bool in
            state.commitsSinceAnalyze += 1
            guard state.commitsSinceAnalyze >= max(threshold, state.rowsAtAnalyze), !state.grown else { return false }
            state.grown = true
            state.lastWrite = now
            guard !state.scheduled else { return false }
            state.scheduled = true
            state.firstWrite = now
            return true
        }
        if start { schedule() }
    }

    private func schedule() {
        Task { [self] in
            while true {
                let due = state.withLock { state in
                    state.grown ? state.firstWrite + growthDelay : min(state.lastWrite + delay, state.firstWrite + maxDelay)
                }
                if due <= .now { break }
                try? await Task.sleep(until: due, clock: .continuous)
            }
            state.withLock { state in
                // Until the ANALYZE reports the table's size, what this process added is
                // the best estimate of its growth.
                state.rowsAtAnalyze += state.commitsSinceAnalyze + state.rowsSinceAnalyze
                state.rowsSinceAnalyze = 0
                state.commitsSinceAnalyze = 0
                state.scheduled = false
                state.grown = false
            }
            do {
                try await pool.query("ANALYZE memory_plugin.memory_records")
                let estimate = try await pool.query(
                    "SELECT reltuples::bigint FROM pg_class WHERE oid = 'memory_plugin.memory_records'::regclass"
                )[0].decode(Int64.self, at: 0)
                state.withLock { $0.rowsAtAnalyze = Int(max(estimate, 0)) }
                logger.debug("analyzed memory_plugin.memory_records after bulk writes or fast growth")
            } catch {
                logger.warning("could not analyze memory_plugin.memory_records after bulk writes", metadata: ["error": "\(error)"])
            }
        }
    }
}
