import FoundationEssentials
import Logging
import MemoryContract
import Postgres
import RedisClient
import Synchronization
import Timestamps

/// Fans events out to every server replica. `emit` stores the event in
/// `structure_events` (as the reference does) and publishes it on the Redis channel
/// `events:broadcast` (`EVENTS_CHANNEL`); every replica, this one included, delivers what arrives on that
/// channel to its local subscribers (SSE streams, WebSockets). Only when Redis refuses
/// the publish does the event go straight to local subscribers, so nothing is
/// delivered twice and a Redis outage still reaches this replica's clients.
///
/// Each subscriber has a bounded buffer; one that falls `capacity` events behind is
/// dropped (its stream ends), so a slow client never grows the server's memory.
final class EventBus: Sendable {
    /// The reference's channel name; `EVENTS_CHANNEL` changes it (e.g. tenants sharing a Redis).
    static let defaultChannel = "events:broadcast"

    let channel: String
    let pool: PostgresPool
    let redis: RedisClient
    let subscriber: RedisSubscriber
    let logger: Logger
    let capacity: Int
    let keepAliveInterval: Duration

    private struct Subscriber {
        let continuation: AsyncStream<EventDelivery>.Continuation
        let workspaceID: String?
    }

    private struct State {
        var subscribers: [Int: Subscriber] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())
    private let dropped = Atomic<Int>(0)

    init(pool: PostgresPool, redis: RedisClient, subscriber: RedisSubscriber, logger: Logger,
         channel: String = EventBus.defaultChannel, capacity: Int = 256, keepAliveInterval: Duration = .seconds(15)) {
        self.channel = channel
        self.pool = pool
        self.redis = redis
        self.subscriber = subscriber
        self.logger = logger
        self.capacity = capacity
        self.keepAliveInterval = keepAliveInterval
    }

    /// Subscribers dropped so far for falling behind.
    var droppedSubscribers: Int { dropped.load(ordering: .relaxed) }

    var subscriberCount: Int { state.withLock { $0.subscribers.count } }

    /// Stores (unless `record` is false) and publishes one event. Never throws: an
    /// event that cannot be stored is still delivered, and the failure is logged.
    func emit(_ event: String, workspaceID: String, payload: JSONValue, record: Bool = true) async {
        let frame = EventFrame(event: event, workspaceID: workspaceID, timestamp: .now(), payload: payload)
        if record {
            do {
                try await pool.query(
                    "INSERT INTO public.structure_events (event_type, workspace_id, payload) VALUES ($1, $2, $3::jsonb)",
                    [event, workspaceID, PostgresJSON(String(decoding: try JSONResponse.encoder.encodeBytes(payload), as: UTF8.self))])
            } catch {
                logger.warning("could not store event", metadata: ["event": "\(event)", "workspace_id": "\(workspaceID)", "error": "\(error)"])
            }
        }
        do {
            let text = String(decoding: try JSONResponse.encoder.encodeBytes(frame), as: UTF8.self)
            _ = try await redis.publish(channel, text)
        } catch {
            logger.warning("redis publish failed; delivering to this replica only", metadata: ["event": "\(event)", "error": "\(error)"])
            deliver(frame)
        }
    }

    /// Subscribes to every event (`workspaceID` nil) or to one workspace's events.
    func subscribe(workspaceID: String?) -> EventSubscription {
        let (stream, continuation) = AsyncStream.makeStream(of: EventDelivery.self, bufferingPolicy: .bufferingOldest(capacity))
        let id = state.withLock { state in
            state.nextID += 1
            state.subscribers[state.nextID] = Subscriber(continuation: continuation, workspaceID: workspaceID)
            return state.nextID
        }
        continuation.onTermination = { [weak self] _ in self?.remove(id) }
        return EventSubscription(id: id, stream: stream)
    }

    /// Ends a subscription (its stream finishes).
    func unsubscribe(_ id: Int) {
        remove(id)?.continuation.finish()
    }

    /// Ends every subscription, so streaming responses complete and shutdown can drain.
    func finishAll() {
        let all = state.withLock { state in
            defer { state.subscribers.removeAll() }
            return Array(state.subscribers.values)
        }
        for subscriber in all { subscriber.continuation.finish() }
    }

    @discardableResult
    private func remove(_ id: Int) -> Subscriber? {
        state.withLock { $0.subscribers.removeValue(forKey: id) }
    }

    /// Hands a frame to the matching local subscribers; one whose buffer is full is dropped.
    func deliver(_ frame: EventFrame) {
        let targets = state.withLock { state in
            state.subscribers.filter { $0.value.workspaceID == nil || $0.value.workspaceID == frame.workspaceID }
        }
        for (id, subscriber) in targets {
            offer(.frame(frame), to: subscriber, id: id)
        }
    }

    private func offer(_ delivery: EventDelivery, to subscriber: Subscriber, id: Int) {
        if case .dropped = subscriber.continuation.yield(delivery) {
            dropped.add(1, ordering: .relaxed)
            logger.notice("dropping a slow event subscriber", metadata: ["subscriber": "\(id)", "buffered": "\(capacity)"])
            unsubscribe(id)
        }
    }

    /// Receives the channel (reconnecting with backoff) and ticks keep-alives until cancelled.
    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.receive() }
            group.addTask { await self.tick() }
            await group.waitForAll()
        }
        finishAll()
    }

    private func receive() async {
        var delay = Duration.milliseconds(250)
        while !Task.isCancelled {
            do {
                let stream = try await subscriber.subscribe([channel], bufferingPolicy: .bufferingNewest(10_000))
                delay = .milliseconds(250)
                for await event in stream {
                    guard case .message(let message) = event else { continue }
                    do {
                        deliver(try JSONDecoder().decode(EventFrame.self, from: Data(message.payloadString.utf8)))
                    } catch {
                        logger.warning("ignoring a malformed event on \(channel)")
                    }
                }
            } catch {
                logger.warning("event channel unavailable; retrying", metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    private func tick() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: keepAliveInterval) } catch { return }
            let all = state.withLock { $0.subscribers }
            for (id, subscriber) in all { offer(.keepAlive, to: subscriber, id: id) }
        }
    }
}
