import Synchronization

/// The delegations this process is delivering to a push-mode agent right now, so a
/// graceful stop can fail them at once (their replies will never arrive) instead of
/// leaving them for another replica to notice when their lease lapses.
final class InFlightDelegations: Sendable {
    struct Entry: Sendable {
        let source: String
        let target: String
    }

    private let entries = Mutex<[String: Entry]>([:])

    func begin(_ delegationID: String, source: String, target: String) {
        entries.withLock { $0[delegationID] = Entry(source: source, target: target) }
    }

    func end(_ delegationID: String) {
        _ = entries.withLock { $0.removeValue(forKey: delegationID) }
    }

    /// Everything still in flight, emptying the registry.
    func takeAll() -> [String: Entry] {
        entries.withLock { current in
            defer { current = [:] }
            return current
        }
    }
}
