import Logging
import Postgres
import RedisClient

/// Notices silent workspaces two ways: Redis keyspace notifications for expired
/// `ws:*` keys (immediate, when the server has `notify-keyspace-events` with `Ex`),
/// and a periodic sweep comparing online rows with their keys, which works with
/// notifications off and catches expiries missed while disconnected.
struct LivenessWatcher: Sendable {
    let tracker: LivenessTracker
    let subscriber: RedisSubscriber
    let database: Int
    let sweepInterval: Duration
    let logger: Logger

    func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await watchExpiries() }
            group.addTask { await sweepForever() }
            await group.waitForAll()
        }
    }

    private func watchExpiries() async {
        var delay = Duration.milliseconds(500)
        while !Task.isCancelled {
            do {
                let stream = try await subscriber.subscribe(["__keyevent@\(database)__:expired"])
                delay = .milliseconds(500)
                for await event in stream {
                    guard case .message(let message) = event else { continue }
                    let key = message.payloadString
                    guard key.hasPrefix("ws:") else { continue }
                    await expire(String(key.dropFirst(3)))
                }
                if Task.isCancelled { return }
            } catch {
                logger.warning("keyspace notifications unavailable; relying on the sweep", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(30))
            }
        }
    }

    private func sweepForever() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: sweepInterval)
            if Task.isCancelled { return }
            await sweep()
        }
    }

    /// One pass: every online or degraded workspace whose key is gone is expired.
    func sweep() async {
        do {
            let result = try await tracker.pool.query(
                "SELECT id FROM public.workspaces WHERE status IN ('online', 'degraded')")
            let ids = try result.rows.map { try $0.decode(String.self, at: 0) }
            guard !ids.isEmpty else { return }
            let replies = try await tracker.redis.pipeline(ids.map { ["EXISTS", LivenessTracker.key($0)] })
            for (id, reply) in zip(ids, replies) where reply.int == 0 {
                await expire(id)
            }
        } catch {
            logger.warning("liveness sweep failed; retrying next interval", metadata: ["error": "\(error)"])
        }
    }

    private func expire(_ id: String) async {
        guard UUIDText.isValid(id) else { return }
        do {
            try await tracker.expire(id, logger: logger)
        } catch {
            logger.warning("could not mark workspace offline", metadata: ["workspace_id": "\(id)", "error": "\(error)"])
        }
    }
}
