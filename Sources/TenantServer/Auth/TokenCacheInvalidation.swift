import Logging
import RedisClient

/// Keeps every replica's `VerifiedTokenCache` honest through one Redis channel.
///
/// Whoever revokes or rotates a token, deletes a workspace or changes the tree clears its
/// own cache and publishes `invalidate`; every replica clears on receipt. Each replica
/// also publishes `tick` every `tickInterval`: hearing the channel proves the subscription
/// delivers, and a replica that hears nothing for the cache's `staleAfter` stops using its
/// cache until it hears the channel again (then starting empty). A lost publish is still
/// bounded by the cache's TTL.
struct TokenCacheInvalidation: Sendable {
    /// Shared by every replica of the tenant; a tenant sharing a Redis with another only
    /// clears its cache more often than it needs to.
    static let defaultChannel = "auth:token-cache"
    static let invalidate = "invalidate"
    static let tick = "tick"
    /// Each replica's tick period, and the silence after which a replica stops trusting
    /// its cache (three missed ticks: a lost subscription, not a slow one).
    static let tickInterval = Duration.seconds(1)
    static let staleAfter = Duration.seconds(3)

    let cache: VerifiedTokenCache
    let redis: RedisClient
    let subscriber: RedisSubscriber
    let channel: String
    let tickInterval: Duration
    let logger: Logger

    /// Clears this replica's cache now and tells the others. Call after the change is
    /// committed, so no replica re-reads the old rows after clearing.
    /// Published even when this replica's cache is off: another's may be on.
    func announce(_ reason: String) async {
        cache.invalidateAll()
        do {
            _ = try await redis.publish(channel, Self.invalidate)
        } catch {
            logger.warning("token cache invalidation not published; other replicas notice within AUTH_CACHE_TTL",
                           metadata: ["reason": "\(reason)", "error": "\(error)"])
        }
    }

    /// Listens and ticks until cancelled. Does nothing when the cache is off.
    func run() async {
        guard cache.isEnabled else { return }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await listen() }
            group.addTask { await ticks() }
            await group.waitForAll()
        }
        cache.channelLost()
    }

    private func listen() async {
        var delay = Duration.milliseconds(250)
        while !Task.isCancelled {
            do {
                // Unbounded: dropping an `invalidate` to save memory would be the wrong trade
                // (the channel carries a tick per replica per second and the rare change).
                let stream = try await subscriber.subscribe([channel], bufferingPolicy: .unbounded)
                delay = .milliseconds(250)
                for await event in stream {
                    switch event {
                    case .message(let message):
                        if message.payloadString == Self.invalidate { cache.invalidateAll() }
                        cache.heard()
                    case .reconnected:
                        // Messages published while the connection was down are lost.
                        cache.channelLost()
                    }
                }
                cache.channelLost()
            } catch {
                cache.channelLost()
                logger.warning("token cache channel unavailable; every request reads the database until it is back",
                               metadata: ["error": "\(error)", "retry_in": "\(delay)"])
                try? await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }

    private func ticks() async {
        while !Task.isCancelled {
            // A failed tick is the signal itself: the cache goes quiet and stops being used.
            _ = try? await redis.publish(channel, Self.tick)
            do { try await Task.sleep(for: tickInterval) } catch { return }
        }
    }
}
