import Logging
import RedisClient

/// The messaging work that runs beside the HTTP server: the event channel receiver with
/// its keep-alive ticker, and the A2A queue drainer. Started and stopped by
/// `TenantServerService`.
struct MessagingBackground: Sendable {
    let events: EventBus
    let drainer: A2AQueueDrainer

    init(_ dependencies: ServerDependencies, logger: Logger) {
        events = dependencies.events
        let configuration = dependencies.a2a
        drainer = A2AQueueDrainer(
            queue: dependencies.a2aQueue, delivery: dependencies.a2aDelivery(logger: logger), interval: configuration.drainInterval,
            abandonAfterSeconds: Int(configuration.timeout.components.seconds) + 60, logger: logger)
    }

    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await events.run() }
            group.addTask { await drainer.run() }
            await group.waitForAll()
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
                    client: AgentHTTPClient(guardrail: urlGuard, timeout: a2a.timeout, idleTimeout: a2a.idleTimeout,
                                            maxResponseBytes: a2a.maxResponseBytes),
                    logger: logger)
    }
}
