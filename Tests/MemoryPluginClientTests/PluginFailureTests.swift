import Foundation
import MemoryContract
import MemoryPluginClient
import TestSupport
import Testing

/// What the server sees when the plugin dies, hangs or comes back. Timing bounds are
/// generous: they tell "fast" from "waited out a timeout", nothing finer.
@Suite("Memory plugin client when the plugin fails")
struct PluginFailureTests {
    @Test func aKilledPluginIsUnavailableFastAndThenTheBreakerFailsCallsWithoutDialling() async throws {
        let database = try await TestPostgres.createDatabase("client")
        defer { database.drop() }
        let plugin = try await RunningPlugin(databaseURL: database.url)
        // A long timeout, so "fast" (refused, or refused by the breaker) cannot be mistaken for it.
        let client = try makeClient(port: plugin.port, timeout: .seconds(60), threshold: 3, cooldown: .seconds(60))
        defer { Task { await client.shutdown() } }
        _ = try await client.commit(namespace: "workspace:k", write: MemoryWrite(content: "before the crash", kind: .fact, source: .agent))

        await kill(plugin)

        for attempt in 1...3 {
            let (error, elapsed) = await timed { try await client.commit(namespace: "workspace:k", write: MemoryWrite(content: "lost", kind: .fact, source: .agent)) }
            #expect(error?.isUnavailable == true, "attempt \(attempt): \(String(describing: error))")
            #expect(elapsed < .seconds(30), "attempt \(attempt) took \(elapsed): a refused connection must not wait out the timeout")
        }
        #expect(client.breaker.state == .open)
        #expect(client.breaker.snapshot.openedTotal == 1)

        let attemptsBefore = client.poolStatistics.dialAttempts
        let (error, elapsed) = await timed { try await client.search(SearchRequest(namespaces: ["workspace:k"])) }
        #expect(error?.unavailableMessage?.contains("circuit breaker open") == true, "\(String(describing: error))")
        #expect(elapsed < .seconds(1), "took \(elapsed)")
        #expect(client.poolStatistics.dialAttempts == attemptsBefore, "an open breaker must not dial")
        #expect(client.breaker.snapshot.rejectedTotal >= 1)
        #expect(error?.contractError.code == .unavailable && error?.contractError.status == 503)
    }

    @Test func aRestartedPluginOnTheSamePortClosesTheBreakerThroughAProbe() async throws {
        let database = try await TestPostgres.createDatabase("client")
        defer { database.drop() }
        let plugin = try await RunningPlugin(databaseURL: database.url)
        let port = plugin.port
        let client = try makeClient(port: port, threshold: 2, cooldown: .seconds(2))
        defer { Task { await client.shutdown() } }
        let kept = try await client.commit(namespace: "workspace:p", write: MemoryWrite(content: "survives the restart", kind: .fact, source: .agent))

        await kill(plugin)
        for _ in 0..<2 { _ = await timed { try await client.health() } }
        #expect(client.breaker.state == .open)
        let openedAt = ContinuousClock.now

        let restarted = try await startPlugin(databaseURL: database.url, port: port)
        defer { stopInBackground(restarted) }
        // Back, but the breaker holds until its cooldown is over.
        if ContinuousClock.now - openedAt < .milliseconds(1500) {
            let (error, _) = await timed { try await client.health() }
            #expect(error?.unavailableMessage?.contains("circuit breaker open") == true, "\(String(describing: error))")
        }
        let wait = Duration.seconds(2) + .milliseconds(200) - (ContinuousClock.now - openedAt)
        if wait > .zero { try await Task.sleep(for: wait) }

        let page = try await client.page(namespace: "workspace:p")
        #expect(page.memories.map(\.id) == [kept.id])
        #expect(client.breaker.state == .closed)
        #expect(client.breaker.snapshot.consecutiveFailures == 0)
        _ = try await client.health()
    }

    @Test func aListenerThatNeverAnswersIsUnavailableAfterAboutTheTimeoutNotAHang() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let client = try makeClient(port: listener.port, timeout: .milliseconds(500))
        defer { Task { await client.shutdown() } }

        let (error, elapsed) = await timed { try await client.commit(namespace: "workspace:h", write: MemoryWrite(content: "x", kind: .fact, source: .agent)) }
        #expect(error?.unavailableMessage?.contains("no answer") == true, "\(String(describing: error))")
        #expect(elapsed >= .milliseconds(400), "took \(elapsed)")
        #expect(elapsed < .seconds(30), "took \(elapsed): a hang, not the 500 ms timeout")
        // The timed-out connection is closed, never reused for the next request.
        #expect(client.poolStatistics.idle == 0)
    }

    @Test func whileTheHalfOpenProbeIsInFlightOtherCallsFailFast() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let client = try makeClient(port: listener.port, timeout: .seconds(3), threshold: 1, cooldown: .milliseconds(200))
        defer { Task { await client.shutdown() } }

        let (first, firstElapsed) = await timed { try await client.health() }
        #expect(first?.unavailableMessage?.contains("no answer") == true)
        #expect(firstElapsed >= .milliseconds(2500))
        #expect(client.breaker.state == .open)

        // Open: fails without dialling, well under the timeout.
        let (refused, refusedElapsed) = await timed { try await client.health() }
        #expect(refused?.unavailableMessage?.contains("circuit breaker open") == true)
        #expect(refusedElapsed < .seconds(1))
        #expect(listener.acceptedCount == 1)

        try await Task.sleep(for: .milliseconds(300))
        let probe = Task { await timed { try await client.health() } }
        for _ in 0..<100 where client.breaker.state != .halfOpen { try await Task.sleep(for: .milliseconds(10)) }
        #expect(client.breaker.state == .halfOpen)
        for _ in 0..<5 {
            let (error, elapsed) = await timed { try await client.health() }
            #expect(error?.unavailableMessage?.contains("probe is in flight") == true, "\(String(describing: error))")
            #expect(elapsed < .seconds(1))
        }
        let (probeError, probeElapsed) = await probe.value
        #expect(probeError?.unavailableMessage?.contains("no answer") == true)
        #expect(probeElapsed >= .milliseconds(2500))
        // The failed probe opened the breaker again; exactly one more connection was tried.
        #expect(client.breaker.state == .open)
        #expect(listener.acceptedCount == 2)
        #expect(client.breaker.snapshot.openedTotal == 2)
    }

    @Test func aCallThatWaitedInLineForAConnectionTimesOutWithoutCountingAgainstThePlugin() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let client = try makeClient(port: listener.port, timeout: .milliseconds(600), maxConnections: 1, threshold: 5)
        defer { Task { await client.shutdown() } }
        async let first = timed { try await client.health() }
        async let second = timed { try await client.health() }
        let messages = [await first.0?.unavailableMessage ?? "", await second.0?.unavailableMessage ?? ""].sorted()
        #expect(messages[0].contains("connections to memory plugin") && messages[0].contains("stayed busy"), "\(messages)")
        #expect(messages[1].contains("no answer"), "\(messages)")
        #expect(client.breaker.snapshot.consecutiveFailures == 1)
        #expect(listener.acceptedCount == 1)
    }

    @Test func nothingListeningIsUnavailableWithAClearMessage() async throws {
        let port = freeTCPPort()
        let client = try makeClient(port: port, timeout: .seconds(60))
        defer { Task { await client.shutdown() } }
        let (error, elapsed) = await timed { try await client.health() }
        let message = try #require(error?.unavailableMessage)
        #expect(message.contains("cannot connect to memory plugin at 127.0.0.1:\(port)"), "\(message)")
        #expect(message.contains("GET /v1/health"))
        #expect(elapsed < .seconds(30), "a refused connection must not wait out the 60 s timeout")
    }
}
