@testable import MemoryPluginClient
import Testing

@Suite("Circuit breaker")
struct CircuitBreakerTests {
    let start = ContinuousClock.now

    func permit(_ breaker: CircuitBreaker, at offset: Duration = .zero) -> CircuitBreaker.Permit? {
        try? breaker.permit(now: start + offset).get()
    }

    @Test func itOpensAfterTheThresholdOfConsecutiveFailures() {
        let breaker = CircuitBreaker(failureThreshold: 3, cooldown: .seconds(5))
        for _ in 0..<2 { breaker.record(.failure, for: permit(breaker)!, now: start) }
        #expect(breaker.state == .closed)
        #expect(breaker.record(.failure, for: permit(breaker)!, now: start) == .opened(afterFailures: 3))
        #expect(breaker.state == .open)
        #expect(permit(breaker, at: .seconds(1)) == nil)
        #expect(breaker.snapshot.rejectedTotal == 1)
    }

    @Test func aSuccessInBetweenResetsTheCount() {
        let breaker = CircuitBreaker(failureThreshold: 2, cooldown: .seconds(5))
        breaker.record(.failure, for: permit(breaker)!, now: start)
        breaker.record(.success, for: permit(breaker)!, now: start)
        breaker.record(.failure, for: permit(breaker)!, now: start)
        #expect(breaker.state == .closed)
        #expect(breaker.snapshot.consecutiveFailures == 1)
    }

    @Test func afterTheCooldownExactlyOneCallerProbes() {
        let breaker = CircuitBreaker(failureThreshold: 1, cooldown: .seconds(5))
        breaker.record(.failure, for: permit(breaker)!, now: start)
        #expect(permit(breaker, at: .seconds(4)) == nil)
        let probe = try! #require(permit(breaker, at: .seconds(5)))
        #expect(probe.isProbe)
        #expect(breaker.state == .halfOpen)
        #expect(permit(breaker, at: .seconds(5)) == nil)
        #expect(permit(breaker, at: .seconds(60)) == nil)
        #expect(breaker.record(.success, for: probe, now: start + .seconds(5)) == .closed)
        #expect(breaker.state == .closed)
        #expect(permit(breaker, at: .seconds(6))?.isProbe == false)
    }

    @Test func aFailedProbeOpensTheBreakerForAnotherCooldown() {
        let breaker = CircuitBreaker(failureThreshold: 1, cooldown: .seconds(5))
        breaker.record(.failure, for: permit(breaker)!, now: start)
        let probe = permit(breaker, at: .seconds(5))!
        breaker.record(.failure, for: probe, now: start + .seconds(5))
        #expect(breaker.state == .open)
        #expect(permit(breaker, at: .seconds(9)) == nil)
        #expect(permit(breaker, at: .seconds(10))?.isProbe == true)
        #expect(breaker.snapshot.openedTotal == 2)
    }

    @Test func aProbeThatEndsWithoutAnAnswerLetsTheNextCallerProbe() {
        let breaker = CircuitBreaker(failureThreshold: 1, cooldown: .seconds(5))
        breaker.record(.failure, for: permit(breaker)!, now: start)
        let probe = permit(breaker, at: .seconds(5))!
        breaker.record(.inconclusive, for: probe, now: start + .seconds(5))
        #expect(permit(breaker, at: .seconds(5))?.isProbe == true)
    }

    @Test func aLateSuccessFromBeforeTheBreakerOpenedDoesNotCloseIt() {
        let breaker = CircuitBreaker(failureThreshold: 1, cooldown: .seconds(5))
        let slow = permit(breaker)!
        breaker.record(.failure, for: permit(breaker)!, now: start)
        #expect(breaker.record(.success, for: slow, now: start + .seconds(1)) == nil)
        #expect(breaker.state == .open)
    }
}

extension CircuitBreaker.Permit: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.isProbe == rhs.isProbe }
}
