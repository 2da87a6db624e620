import Logging
import RedisClient

/// The messaging work that runs beside the HTTP server: the event channel receiver with
/// its keep-alive ticker, and the A2A queue drainer. Started and stopped by
/// `TenantServerService`.
struct MessagingBackground: Sendable {
    let events: EventBus
    let drainer: A2AQueueDrainer
    let ledger: DelegationLedger

    init(_ dependencies: ServerDependencies, logger: Logger) {
        events = dependencies.events
        let configuration = dependencies.a2a
        let delivery = dependencies.a2aDelivery(logger: logger)
        ledger = DelegationLedger(pool: dependencies.pool, activity: dependencies.activity, events: dependencies.events, logger: logger)
        let delegations = DelegationExecutor(
            ledger: ledger,
            delivery: delivery, queue: dependencies.a2aQueue, workspaces: dependencies.workspaces)
        drainer = A2AQueueDrainer(
            queue: dependencies.a2aQueue, delivery: delivery, interval: configuration.drainInterval,
            abandonAfterSeconds: Int(configuration.timeout.components.seconds) + 60, logger: logger,
            settled: { item, outcome in
                // A queued delegation is settled when its message is.
                guard let id = DelegationExecutor.delegationID(ofQueuedBody: item.body), let source = item.callerID else { return }
                await delegations.settle(id, source: source, target: item.target.id, outcome: outcome)
            })
    }

    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await events.run() }
            group.addTask { await drainer.run() }
            group.addTask { await sweepDelegations() }
            await group.waitForAll()
        }
    }

    private func sweepDelegations() async {
        while !Task.isCancelled {
            let failed = await ledger.failOverdue()
            if failed > 0 { ledger.logger.notice("failed overdue delegations", metadata: ["count": "\(failed)"]) }
            do { try await Task.sleep(for: .seconds(60)) } catch { return }
        }
    }

    /// Ends the streams (so in-flight SSE responses complete) and closes the channel.
    func stop() async {
        events.finishAll()
        await events.subscriber.shutdown()
    }
}

extension ServerDependencies {
    var a2aQueue: A2AQueue { A2AQueue(pool: pool) }

    func a2aDelivery(logger: Logger) -> A2ADelivery {
        A2ADelivery(pool: pool, activity: activity, events: events,
                    client: AgentHTTPClient(guardrail: urlGuard, tls: agentTLS, timeout: a2a.timeout, idleTimeout: a2a.idleTimeout,
                                            maxResponseBytes: a2a.maxResponseBytes),
                    logger: logger)
    }
}
