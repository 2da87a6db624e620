import NIOCore
import Synchronization

/// Lets concurrent single commits share round trips to PostgreSQL. While `maxBatches`
/// batches are at the database, later commits wait in line; when a batch returns, the
/// commits that queued meanwhile leave together as the next batch, handed to `execute`
/// as one list (which turns it into as few statements as it can; see
/// `MemoryStore.executeCommits`). Alone, a commit runs at once.
/// What it saves is per-statement overhead: a thread hand-off, a network round trip, the
/// socket reads and writes on both sides, and PostgreSQL's per-statement and
/// per-transaction work, which at concurrency 8 cost more than the inserts themselves.
final class CommitCoalescer<Job: Sendable, Outcome: Sendable>: Sendable {
    private struct Waiting {
        let job: Job
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

    private let maxBatches: Int
    private let maxBatchSize: Int
    private let execute: @Sendable ([Job]) async -> [Outcome]
    private let state = Mutex(State())

    /// `execute` returns one outcome per job, in order.
    init(maxBatches: Int = max(2, System.coreCount), maxBatchSize: Int = 64, execute: @escaping @Sendable ([Job]) async -> [Outcome]) {
        self.maxBatches = max(1, maxBatches)
        self.maxBatchSize = max(1, maxBatchSize)
        self.execute = execute
    }

    /// Runs one job, alone or in a batch with others.
    func run(_ job: Job) async -> Outcome {
        let leads = state.withLock { state in
            guard state.batchesInFlight < maxBatches else { return false }
            state.batchesInFlight += 1
            return true
        }
        if leads { return await lead(first: job, others: []) }
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let promoted: Bool = state.withLock { state in
                // A batch may have finished between the check above and now.
                if state.batchesInFlight < maxBatches {
                    state.batchesInFlight += 1
                    return true
                }
                state.queue.append(Waiting(job: job, continuation: continuation))
                return false
            }
            if promoted { continuation.resume(returning: .lead([Waiting(job: job, continuation: continuation)])) }
        }
        switch turn {
        case .done(let outcome):
            return outcome
        case .lead(let batch):
            // batch[0] is this commit; its continuation has already been used.
            return await lead(first: batch[0].job, others: Array(batch.dropFirst()))
        }
    }

    /// Executes a batch, wakes its other members with their outcomes, and hands the next
    /// batch (if any commits queued meanwhile) to the first of them.
    private func lead(first: Job, others: [Waiting]) async -> Outcome {
        let jobs = [first] + others.map(\.job)
        let execute = execute
        // A batch runs in a task of its own: a leader whose client went away must not
        // cancel the commits of the others in its batch. A commit alone runs in its
        // caller's task, as any statement would.
        let outcomes = jobs.count == 1 ? await execute(jobs) : await Task { await execute(jobs) }.value
        precondition(outcomes.count == jobs.count, "a batch executor must answer every job")
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
}
