import Logging
import RedisClient

/// The messaging work that runs beside the HTTP server: the event channel receiver with
/// its keep-alive ticker, the A2A queue drainer, the delegation sweep and the pruning of
/// old events. Started and stopped by `TenantServerService`.
struct MessagingBackground: Sendable {
    let events: EventBus
    let drainer: A2AQueueDrainer
    let recovery: DelegationRecovery
    let retention: EventRetention?

    init(_ dependencies: ServerDependencies, eventsRetention: Duration?, logger: Logger) {
        events = dependencies.events
        retention = eventsRetention.map {
            EventRetention(pool: dependencies.pool, retention: $0, interval: .seconds(3600), logger: logger)
        }
        let configuration = dependencies.a2a
        let delivery = dependencies.a2aDelivery(logger: logger)
        let delegations = dependencies.delegationExecutor(logger: logger)
        recovery = DelegationRecovery(ledger: delegations.ledger, executor: delegations, queue: dependencies.a2aQueue,
                                      inFlight: dependencies.inFlightDelegations, lease: configuration.delegationLease, logger: logger)
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
            group.addTask { await recovery.run() }
            if let retention { group.addTask { await retention.run() } }
            await group.waitForAll()
        }
    }

    /// Fails the delegations this process was still delivering, ends the streams (so
    /// in-flight SSE responses complete) and closes the channel.
    func stop() async {
        await recovery.failInFlight()
        events.finishAll()
        await events.subscriber.shutdown()
    }
}

extension ServerDependencies {
    var a2aQueue: A2AQueue { A2AQueue(pool: pool) }

    func delegationExecutor(logger: Logger) -> DelegationExecutor {
        DelegationExecutor(
            ledger: DelegationLedger(pool: pool, activity: activity, events: events, logger: logger),
            delivery: a2aDelivery(logger: logger), queue: a2aQueue, workspaces: workspaces,
            inFlight: inFlightDelegations, lease: a2a.delegationLease)
    }

    func a2aDelivery(logger: Logger) -> A2ADelivery {
        A2ADelivery(pool: pool, activity: activity, events: events,
                    client: AgentHTTPClient(guardrail: urlGuard, tls: agentTLS, timeout: a2a.timeout, idleTimeout: a2a.idleTimeout,
                                            maxResponseBytes: a2a.maxResponseBytes),
                    logger: logger)
    }
}
