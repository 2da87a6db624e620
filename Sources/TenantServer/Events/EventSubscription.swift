/// What a subscriber's stream carries: events, and a periodic tick so streaming
/// responses can send keep-alives and notice a vanished client.
enum EventDelivery: Sendable {
    case frame(EventFrame)
    case keepAlive
}

/// A live subscription. Ending it (or the bus dropping it for being too slow)
/// finishes `stream`.
struct EventSubscription: Sendable {
    let id: Int
    let stream: AsyncStream<EventDelivery>
}
