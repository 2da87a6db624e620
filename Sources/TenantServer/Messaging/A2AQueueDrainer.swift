import Logging

/// Delivers queued A2A messages as their targets free up: every `interval` it claims
/// what may go now and delivers each claim in its own task (one slow agent never holds
/// up another). Also fails items a stopped server left mid-delivery.
struct A2AQueueDrainer: Sendable {
    let queue: A2AQueue
    let delivery: A2ADelivery
    let interval: Duration
    /// Items dispatched longer ago than this (the delivery timeout plus a margin) are abandoned.
    let abandonAfterSeconds: Int
    let logger: Logger
    /// Told of every final outcome (delivered, or failed for good), e.g. to settle a delegation.
    let settled: @Sendable (A2AQueue.Item, A2ADelivery.Outcome) async -> Void

    func run() async {
        await withDiscardingTaskGroup { group in
            var sweeps = 0
            while !Task.isCancelled {
                if sweeps % 40 == 0 { await failAbandoned() }
                sweeps += 1
                do {
                    for workspace in try await queue.waitingWorkspaces() {
                        while let item = try await queue.claim(workspace) {
                            group.addTask { await deliver(item) }
                        }
                    }
                } catch {
                    logger.warning("A2A queue drain failed; retrying", metadata: ["error": "\(error)"])
                }
                do { try await Task.sleep(for: interval) } catch { return }
            }
        }
    }

    private func deliver(_ item: A2AQueue.Item) async {
        let outcome = await delivery.deliver(to: item.target, from: item.callerID, method: item.method, body: item.body)
        var retry = false
        do {
            switch outcome {
            case .replied(let status, let body) where status < 400:
                try await queue.complete(item.id, response: A2ADelivery.json(body))
            case .replied(let status, _):
                retry = status >= 500 && item.attempts < A2AQueue.maxAttempts
                try await queue.failed(item.id, attempts: item.attempts, error: "agent answered HTTP \(status)", retry: retry)
            case .failed(let error):
                // A refused address or certificate will not change by trying again.
                retry = error.code != "blocked_address" && error.code != "agent_tls_failed" && item.attempts < A2AQueue.maxAttempts
                try await queue.failed(item.id, attempts: item.attempts, error: error.message, retry: retry)
            }
        } catch {
            logger.warning("could not record a queued A2A delivery", metadata: ["queue_id": "\(item.id)", "error": "\(error)"])
        }
        if !retry { await settled(item, outcome) }
    }

    private func failAbandoned() async {
        do {
            let count = try await queue.failAbandoned(olderThan: abandonAfterSeconds)
            if count > 0 { logger.warning("failed A2A messages abandoned mid-delivery", metadata: ["count": "\(count)"]) }
        } catch {
            logger.warning("could not sweep abandoned A2A messages", metadata: ["error": "\(error)"])
        }
    }
}
