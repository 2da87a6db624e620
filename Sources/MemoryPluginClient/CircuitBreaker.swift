import Synchronization

/// Stops calling a plugin that keeps failing, so callers get a fast `unavailable`
/// instead of each waiting out a timeout. Closed: calls pass, consecutive failures are
/// counted. Open: calls fail at once until the cooldown ends. Half-open: exactly one
/// caller probes; its success closes the breaker, its failure opens it again.
public final class CircuitBreaker: Sendable {
    public enum State: String, Sendable, Equatable {
        case closed, open
        case halfOpen = "half_open"
    }

    /// What /health and the metrics show.
    public struct Snapshot: Sendable, Equatable {
        public var state: State
        public var consecutiveFailures: Int
        /// How many times the breaker has opened since start.
        public var openedTotal: Int
        /// Calls refused without dialling since start.
        public var rejectedTotal: Int
    }

    /// A caller's right to go ahead; hand it back through `record`.
    struct Permit: Sendable {
        let isProbe: Bool
    }

    enum Outcome: Sendable {
        /// The plugin answered (2xx or 4xx).
        case success
        /// Transport failure, timeout, 5xx or a non-contract answer.
        case failure
        /// The call ended without telling anything about the plugin (e.g. cancelled).
        case inconclusive
    }

    private struct Storage {
        var state: State = .closed
        var consecutiveFailures = 0
        var openUntil: ContinuousClock.Instant = .now
        var openedTotal = 0
        var rejectedTotal = 0
    }

    public let failureThreshold: Int
    public let cooldown: Duration
    private let storage = Mutex(Storage())

    public init(failureThreshold: Int, cooldown: Duration) {
        self.failureThreshold = max(1, failureThreshold)
        self.cooldown = cooldown
    }

    public var snapshot: Snapshot {
        storage.withLock { Snapshot(state: $0.state, consecutiveFailures: $0.consecutiveFailures, openedTotal: $0.openedTotal, rejectedTotal: $0.rejectedTotal) }
    }

    public var state: State { snapshot.state }

    /// A permit, or nil when the call must fail without dialling. `remaining` says how
    /// long the breaker stays open (for the error message).
    func permit(now: ContinuousClock.Instant = .now) -> Result<Permit, Refusal> {
        storage.withLock { s in
            switch s.state {
            case .closed:
                return .success(Permit(isProbe: false))
            case .open where now >= s.openUntil:
                s.state = .halfOpen
                return .success(Permit(isProbe: true))
            case .open:
                s.rejectedTotal += 1
                return .failure(Refusal(reopensIn: s.openUntil - now))
            case .halfOpen:
                s.rejectedTotal += 1
                return .failure(Refusal(reopensIn: nil))
            }
        }
    }

    struct Refusal: Error {
        /// nil while a probe is in flight.
        let reopensIn: Duration?
    }

    /// A change worth a log line.
    enum Transition: Sendable, Equatable {
        case opened(afterFailures: Int)
        case closed
    }

    @discardableResult
    func record(_ outcome: Outcome, for permit: Permit, now: ContinuousClock.Instant = .now) -> Transition? {
        storage.withLock { s in
            switch outcome {
            case .success:
                // A late success from before the breaker opened must not close it; only
                // the probe (or a call while closed) speaks for the plugin's health now.
                guard permit.isProbe || s.state == .closed else { return nil }
                let wasClosed = s.state == .closed
                s.state = .closed
                s.consecutiveFailures = 0
                return wasClosed ? nil : .closed
            case .failure:
                s.consecutiveFailures += 1
                guard permit.isProbe || (s.state == .closed && s.consecutiveFailures >= failureThreshold) else { return nil }
                s.state = .open
                s.openUntil = now + cooldown
                s.openedTotal += 1
                return .opened(afterFailures: s.consecutiveFailures)
            case .inconclusive:
                // Let the next caller probe instead of leaving the breaker half-open forever.
                if permit.isProbe && s.state == .halfOpen {
                    s.state = .open
                    s.openUntil = now
                }
                return nil
            }
        }
    }
}
