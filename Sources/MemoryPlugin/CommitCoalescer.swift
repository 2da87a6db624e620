import Postgres
import Synchronization

/// Lets concurrent single commits share round trips to PostgreSQL. While `maxBatches`
/// batches are at the database, later commits wait in line; when a batch returns, the
/// commits that queued meanwhile leave together as the next batch, one libpq pipeline
/// with a sync point per statement (so each is still its own transaction, and one
/// failing never touches another). Alone, a commit runs at once as a plain statement.
/// What it saves is per-statement overhead: a thread hand-off, a network round trip and
/// the socket reads and writes on both sides, which at concurrency 8 cost more than the
/// inserts themselves.
final class CommitCoalescer: Sendable {
    typealias Outcome = Result<PostgresResult, PostgresError>

    private struct Waiting {
        let statement: PostgresConnection.Statement
        let continuation: CheckedContinuation<Turn, Never>
    }

    /// What a waiting commit is woken with: its outcome, or the duty to run the next batch
    /// (itself first).
    private enum Turn {
        case done(Outcome)
        case lead([Waiting])
    }

    private struct State {
        var batchesInFlight = 0
        var queue: [Waiting] = []
    }

    private let pool: PostgresPool
    private let maxBatches: Int
    private let maxBatchSize: Int
    private let state = Mutex(State())

    init(pool: PostgresPool, maxBatches: Int = max(2, System.coreCount), maxBatchSize: Int = 64) {
        self.pool = pool
        self.maxBatches = max(1, maxBatches)
        self.maxBatchSize = max(1, maxBatchSize)
    }

    /// Runs one prepared statement, alone or in a batch with others.
    func run(_ statement: PostgresConnection.Statement) async -> Outcome {
        let leads = state.withLock { state in
            guard state.batchesInFlight < maxBatches else { return false }
            state.batchesInFlight += 1
            return true
        }
        if leads { return await lead(first: statement, others: []) }
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let promoted: [Waiting]? = state.withLock { state in
                // A batch may have finished between the check above and now.
                if state.batchesInFlight < maxBatches {
                    state.batchesInFlight += 1
                    return []
                }
                state.queue.append(Waiting(statement: statement, continuation: continuation))
                return nil
            }
            if promoted != nil { continuation.resume(returning: .lead([Waiting(statement: statement, continuation: continuation)])) }
        }
        switch turn {
        case .done(let outcome):
            return outcome
        case .lead(let batch):
            // batch[0] is this commit; its continuation has already been used.
            return await lead(first: batch[0].statement, others: Array(batch.dropFirst()))
        }
    }

    /// Executes a batch, wakes its other members with their outcomes, and hands the next
    /// batch (if any commits queued meanwhile) to the first of them.
    private func lead(first: PostgresConnection.Statement, others: [Waiting]) async -> Outcome {
        let outcomes = await execute([first] + others.map(\.statement))
        for (waiting, outcome) in zip(others, outcomes.dropFirst()) { waiting.continuation.resume(returning: .done(outcome)) }
        let next: [Waiting] = state.withLock { state in
            guard !state.queue.isEmpty else {
                state.batchesInFlight -= 1
                return []
            }
            let count = min(maxBatchSize, state.queue.count)
            defer { state.queue.removeFirst(count) }
            return Array(state.queue.prefix(count))
        }
        if let leader = next.first { leader.continuation.resume(returning: .lead(next)) }
        return outcomes[0]
    }

    /// Runs in a task of its own: a leader whose client went away must not cancel the
    /// commits of the others in its batch.
    private func execute(_ statements: [PostgresConnection.Statement]) async -> [Outcome] {
        let pool = pool
        if statements.count == 1 { return [await Self.single(statements[0], pool)] }
        return await Task {
            do {
                return try await pool.pipeline(statements)
            } catch let error as PostgresError {
                return Array(repeating: .failure(error), count: statements.count)
            } catch {
                let failure = PostgresError(kind: .cancelled, message: "the batch was cancelled")
                return Array(repeating: .failure(failure), count: statements.count)
            }
        }.value
    }

    /// A commit alone runs in its caller's task, as any statement would.
    private static func single(_ statement: PostgresConnection.Statement, _ pool: PostgresPool) async -> Outcome {
        do {
            return .success(try await pool.withConnection { try await $0.query(prepared: statement.sql, statement.parameters) })
        } catch let error as PostgresError {
            return .failure(error)
        } catch {
            return .failure(PostgresError(kind: .cancelled, message: "the commit was cancelled"))
        }
    }
}
