import RedisClient

/// The messaging work that runs beside the HTTP server: the event channel receiver
/// and keep-alive ticker. Started and stopped by `TenantServerService`.
struct MessagingBackground: Sendable {
    let events: EventBus

    func run() async {
        await events.run()
    }

    /// Ends the streams (so in-flight SSE responses complete) and closes the channel.
    func stop() async {
        events.finishAll()
        await events.subscriber.shutdown()
    }
}
