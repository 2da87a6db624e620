import HTTPTypes
import Logging

/// Finds delegations a server restart cut off, at boot and then every third of the
/// lease, so their sources hear about them promptly rather than at the 6-hour deadline.
/// Every replica runs it; each step is a guarded update, so two replicas never act on
/// the same delegation twice.
///
/// What happens follows the reference's rule for retries (retry only what cannot have
/// reached the agent; never send a task twice):
/// - delivered to a push-mode agent by a server that stopped before the answer came (its
///   lease lapsed, or it stopped gracefully): failed with `DELEGATION_FAILED`, since the
///   agent may have run it;
/// - accepted but never sent (still `queued`, nothing in the A2A queue): resumed, sent as
///   it would have been (at most three times);
/// - queued, and its message delivered or failed without the ledger hearing of it:
///   settled from the queue item.
struct DelegationRecovery: Sendable {
    let ledger: DelegationLedger
    let executor: DelegationExecutor
    let queue: A2AQueue
    let inFlight: InFlightDelegations
    let lease: Duration
    let logger: Logger

    static let maxResumes = 3

    static func interrupted(_ detail: String) -> String {
        "delivery interrupted: \(detail); the agent may have started the task, so it was not sent again"
    }

    func run() async {
        // The 6-hour deadline needs no hurry: it is checked about once a minute.
        let deadlineEvery = max(60 / Int(max(interval.components.seconds, 1)), 1)
        var sweeps = 0
        while !Task.isCancelled {
            await sweep()
            if sweeps % deadlineEvery == 0 {
                let failed = await ledger.failOverdue()
                if failed > 0 { logger.notice("failed overdue delegations", metadata: ["count": "\(failed)"]) }
            }
            sweeps += 1
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }

    /// A third of the lease, between 1 and 15 seconds.
    var interval: Duration { min(max(lease / 3, .seconds(1)), .seconds(15)) }

    func sweep() async {
        do {
            for lapsed in try await ledger.lapsedLeases(olderThan: lease) {
                let detail = "the server delivering it stopped (no lease renewal for \(lease.components.seconds) s)"
                if await ledger.finish(lapsed.id, source: lapsed.source, target: lapsed.target, completed: false, text: nil,
                                       error: Self.interrupted(detail)) {
                    logger.warning("failed a delegation whose delivery was cut off", metadata: ["delegation_id": "\(lapsed.id)"])
                }
            }
            for stranded in try await ledger.stranded(olderThan: lease) {
                try await recover(stranded)
            }
        } catch {
            logger.warning("could not look for interrupted delegations; trying again later", metadata: ["error": "\(error)"])
        }
    }

    private func recover(_ stranded: DelegationLedger.Pending) async throws {
        if let item = try await queue.item(forDelegation: stranded.id, workspaceID: stranded.target) {
            // Queued again since the sweep looked (another replica resumed it): not stranded.
            guard item.status != "queued" && item.status != "dispatched" else { return }
            let outcome: A2ADelivery.Outcome = item.status == "completed"
                ? .replied(status: 200, body: Array((item.response ?? "{}").utf8))
                : .failed(APIError(.badGateway, code: "delivery_failed", item.lastError ?? "the queued message was not delivered"))
            await executor.settle(stranded.id, source: stranded.source, target: stranded.target, outcome: outcome)
            return
        }
        guard let resumes = try await ledger.claimForResume(stranded.id, olderThan: lease) else { return }
        guard resumes <= Self.maxResumes else {
            await ledger.finish(stranded.id, source: stranded.source, target: stranded.target, completed: false, text: nil,
                                error: "could not be sent: resumed \(Self.maxResumes) times after server restarts without reaching the agent")
            return
        }
        guard let task = try await ledger.task(of: stranded.id, source: stranded.source) else {
            await ledger.finish(stranded.id, source: stranded.source, target: stranded.target, completed: false, text: nil,
                                error: "could not be sent: the server stopped before it stored the task")
            return
        }
        logger.notice("resuming a delegation that was never sent", metadata: ["delegation_id": "\(stranded.id)"])
        let executor = self.executor, pending = stranded
        // Detached, like a new delegation: a slow agent must not hold up the sweep.
        Task.detached { await executor.run(delegationID: pending.id, source: pending.source, target: pending.target, task: task, resumed: true) }
    }

    /// At a graceful stop: the deliveries still waiting for an answer end with this
    /// process, so their delegations are failed now rather than when the lease lapses.
    func failInFlight() async {
        for (id, entry) in inFlight.takeAll() {
            await ledger.finish(id, source: entry.source, target: entry.target, completed: false, text: nil,
                                error: Self.interrupted("the server stopped while the agent was working on it"))
        }
    }
}
