import MemoryAccess
import Testing
@testable import TenantServer

/// The cache's rules on their own, with a clock the test moves.
@Suite("Verified-token cache rules")
struct VerifiedTokenCacheTests {
    let key = VerifiedTokenCache.Key(tokenHash: Array(repeating: 7, count: 32), workspaceID: "w")
    let placement = WorkspaceLineageStore.Placement(
        lineage: WorkspaceLineage(workspaceID: "w", parentID: nil, rootID: "w"), name: "w", parentName: nil, rootName: "w")
    let start = ContinuousClock.now

    func cache(ttl: Duration = .seconds(5)) -> VerifiedTokenCache {
        VerifiedTokenCache(ttl: ttl, staleAfter: .seconds(3))
    }

    @Test func nothingIsCachedBeforeTheChannelIsHeard() throws {
        let cache = cache()
        #expect(cache.ticket(now: start) == nil)
        cache.heard(now: start)
        let ticket = try #require(cache.ticket(now: start))
        cache.store(placement, for: key, ticket: ticket, now: start)
        #expect(cache.placement(for: key, now: start + .seconds(1))?.name == "w")
    }

    @Test func anEntryLivesTTLFromTheTicketNotFromTheStore() throws {
        let cache = cache()
        cache.heard(now: start)
        let ticket = try #require(cache.ticket(now: start))
        // Ticks keep arriving; the database took two seconds to answer.
        cache.heard(now: start + .seconds(2))
        cache.store(placement, for: key, ticket: ticket, now: start + .seconds(2))
        cache.heard(now: start + .seconds(4))
        #expect(cache.placement(for: key, now: start + .milliseconds(4900)) != nil)
        #expect(cache.placement(for: key, now: start + .milliseconds(5100)) == nil)
    }

    @Test func aLookupThatRacedAnInvalidationIsNotStored() throws {
        let cache = cache()
        cache.heard(now: start)
        let ticket = try #require(cache.ticket(now: start))
        // The database answered with the old row, then the revocation arrived, then the store.
        cache.invalidateAll()
        cache.store(placement, for: key, ticket: ticket, now: start)
        #expect(cache.placement(for: key, now: start) == nil)
    }

    @Test func aSilentChannelTurnsTheCacheOffAndItComesBackEmpty() throws {
        let cache = cache()
        cache.heard(now: start)
        cache.store(placement, for: key, ticket: try #require(cache.ticket(now: start)), now: start)
        #expect(cache.placement(for: key, now: start + .seconds(3)) != nil)
        // No tick for more than three seconds: messages may have been missed.
        #expect(cache.placement(for: key, now: start + .milliseconds(3100)) == nil)
        #expect(cache.ticket(now: start + .milliseconds(3100)) == nil)
        cache.heard(now: start + .milliseconds(3200))
        #expect(cache.placement(for: key, now: start + .milliseconds(3200)) == nil)
    }

    @Test func aLostChannelTurnsTheCacheOffAtOnce() throws {
        let cache = cache()
        cache.heard(now: start)
        cache.store(placement, for: key, ticket: try #require(cache.ticket(now: start)), now: start)
        cache.channelLost()
        #expect(cache.placement(for: key, now: start) == nil)
        #expect(cache.ticket(now: start) == nil)
    }

    @Test func aZeroTTLCachesNothing() {
        let cache = cache(ttl: .zero)
        cache.heard(now: start)
        #expect(cache.ticket(now: start) == nil)
        #expect(cache.placement(for: key, now: start) == nil)
    }
}
