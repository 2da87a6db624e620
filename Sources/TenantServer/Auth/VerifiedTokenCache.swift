import Synchronization

/// Workspace tokens this replica verified against PostgreSQL a moment ago, with the
/// placement of their workspace, so most memory requests cost no database round trip.
///
/// This is the security perimeter, so every rule errs towards the database:
/// - an entry lives at most `ttl` (`AUTH_CACHE_TTL`) after the database said yes: that is
///   the longest a revoked token or a moved workspace can go unnoticed, whatever else fails;
/// - revocations, rotations, deletes and re-parents on any replica clear every replica's
///   cache through Redis (`TokenCacheInvalidation`);
/// - the cache is used only while that channel is provably alive (a message heard within
///   `staleAfter`); otherwise every request goes to the database;
/// - only positive answers are kept (a token of exactly the workspace in the path), and a
///   lookup that raced an invalidation is not stored (the generation changed under it).
final class VerifiedTokenCache: Sendable {
    struct Key: Hashable, Sendable {
        let tokenHash: [UInt8]
        let workspaceID: String
    }

    /// Proof that the cache was usable, and at which generation, when a lookup started.
    struct Ticket: Sendable {
        fileprivate let generation: UInt64
        /// Taken before the database answered, so an entry never outlives `ttl` from then.
        fileprivate let takenAt: ContinuousClock.Instant
    }

    private struct Entry {
        let placement: WorkspaceLineageStore.Placement
        let expires: ContinuousClock.Instant
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var generation: UInt64 = 0
        /// When the invalidation channel last delivered anything; nil: never, or lost since.
        var heardAt: ContinuousClock.Instant?
    }

    let ttl: Duration
    let staleAfter: Duration
    let capacity: Int
    private let state = Mutex(State())

    /// `ttl` zero turns the cache off: every request reads the database.
    init(ttl: Duration, staleAfter: Duration, capacity: Int = 10_000) {
        self.ttl = ttl
        self.staleAfter = staleAfter
        self.capacity = capacity
    }

    var isEnabled: Bool { ttl > .zero }

    /// The placement of `key.workspaceID` when its token was verified less than `ttl` ago
    /// and the invalidation channel is alive; nil means: ask the database.
    func placement(for key: Key, now: ContinuousClock.Instant = .now) -> WorkspaceLineageStore.Placement? {
        guard isEnabled else { return nil }
        return state.withLock { state in
            guard Self.isLive(state, now: now, staleAfter: staleAfter), let entry = state.entries[key] else { return nil }
            guard entry.expires > now else {
                state.entries[key] = nil
                return nil
            }
            return entry.placement
        }
    }

    /// Taken before the database lookup; nil when the result must not be cached.
    func ticket(now: ContinuousClock.Instant = .now) -> Ticket? {
        guard isEnabled else { return nil }
        return state.withLock { state in
            Self.isLive(state, now: now, staleAfter: staleAfter) ? Ticket(generation: state.generation, takenAt: now) : nil
        }
    }

    /// Keeps a verified token until `ttl` after `ticket` was taken, unless anything was
    /// invalidated (or the channel went quiet) since then.
    func store(_ placement: WorkspaceLineageStore.Placement, for key: Key, ticket: Ticket, now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            guard state.generation == ticket.generation, Self.isLive(state, now: now, staleAfter: staleAfter) else { return }
            if state.entries.count >= capacity {
                state.entries = state.entries.filter { $0.value.expires > now }
                guard state.entries.count < capacity else { return }
            }
            state.entries[key] = Entry(placement: placement, expires: ticket.takenAt + ttl)
        }
    }

    /// Forgets everything: a token, workspace or tree changed somewhere.
    func invalidateAll() {
        state.withLock { state in
            state.generation &+= 1
            state.entries.removeAll()
        }
    }

    /// The invalidation channel delivered a message. After a silence longer than
    /// `staleAfter` nothing cached before it is trusted: messages may have been missed.
    func heard(now: ContinuousClock.Instant = .now) {
        state.withLock { state in
            if !Self.isLive(state, now: now, staleAfter: staleAfter) {
                state.generation &+= 1
                state.entries.removeAll()
            }
            state.heardAt = now
        }
    }

    /// The invalidation channel is gone: stop using the cache at once.
    func channelLost() {
        state.withLock { state in
            state.generation &+= 1
            state.entries.removeAll()
            state.heardAt = nil
        }
    }

    var count: Int { state.withLock { $0.entries.count } }

    private static func isLive(_ state: State, now: ContinuousClock.Instant, staleAfter: Duration) -> Bool {
        guard let heardAt = state.heardAt else { return false }
        return now - heardAt <= staleAfter
    }
}
