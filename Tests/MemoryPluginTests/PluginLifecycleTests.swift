import Foundation
import MemoryContract
import Postgres
import TestSupport
import Testing

/// The plugin process over its life: waiting for the database at boot, many writers at
/// once, the TTL janitor, and a SIGTERM that arrives while a request is still running.
@Suite("Memory plugin lifecycle")
struct PluginLifecycleTests {
    @Test func bootWaitsForTheDatabaseInsteadOfDying() async throws {
        // A database that does not exist yet: the plugin must keep retrying, not exit.
        let name = "plugin_late_\(UInt32.random(in: 0...UInt32.max))"
        let url = TestPostgres.url(TestPostgres.adminURL, database: name)
        let port = freeTCPPort()
        let process = try MoleculeTenantBinary.start(["memory-plugin", "--config", "/dev/null"], environment: [
            "MEMORY_PLUGIN_DATABASE_URL": url, "MEMORY_PLUGIN_LISTEN_ADDR": "127.0.0.1:\(port)", "LOG_FORMAT": "json",
        ])
        defer {
            process.signal(SIGKILL)
            _ = process.wait()
            if let admin = try? PostgresConnection.connect(TestPostgres.adminURL) {
                _ = try? admin.simpleQuery("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
                admin.close()
            }
        }
        try await Task.sleep(for: .seconds(2))
        #expect(!process.hasExited, "the plugin gave up on a database that is only late")

        let admin = try PostgresConnection.connect(TestPostgres.adminURL)
        _ = try admin.simpleQuery("CREATE DATABASE \(name)")
        admin.close()

        var healthy = false
        for _ in 0..<300 where !healthy {
            if let health = try? TestHTTP.request("GET", port: port, path: "/v1/health", timeout: .seconds(2)), health.status == 200 {
                healthy = true
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(healthy, "the plugin did not come up once the database existed")
        let committed = try TestHTTP.request("POST", port: port, path: "/v1/namespaces/workspace:late/memories",
                                             body: Data(#"{"content":"after the wait","kind":"fact","source":"agent"}"#.utf8))
        #expect(committed.status == 201, "\(committed.text)")
    }

    @Test func aHundredParallelHTTPWritesGiveAHundredDistinctReadableMemories() async throws {
        let database = try await TestPostgres.createDatabase("plugin")
        defer { database.drop() }
        let plugin = try await RunningPlugin(databaseURL: database.url)
        defer { _ = plugin.stop() }

        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<100 {
                group.addTask {
                    let response = try plugin.send("POST", "/v1/namespaces/team:crowd/memories",
                                                   #"{"content":"note \#(index)","kind":"fact","source":"agent"}"#)
                    guard response.status == 201 else { throw TestSupportError("write \(index): \(response.status) \(response.text)") }
                    return try response.json(MemoryWriteResponse.self).id
                }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(Set(ids).count == 100)

        var listed: [String] = []
        var cursor: String?
        repeat {
            let path = "/v1/namespaces/team:crowd/memories?limit=30" + (cursor.map { "&after=\($0)" } ?? "")
            let page = try plugin.send("GET", path).json(MemoryPage.self)
            listed += page.memories.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(Set(listed) == Set(ids))
        #expect(listed.count == 100)
    }

    @Test func theJanitorDeletesExpiredRowsAndCountsThemInMetrics() async throws {
        let database = try await TestPostgres.createDatabase("plugin")
        defer { database.drop() }
        let plugin = try await RunningPlugin(databaseURL: database.url, extra: ["MEMORY_PLUGIN_JANITOR_INTERVAL": "200ms"])
        defer { _ = plugin.stop() }

        let soon = Timestamp(Date().addingTimeInterval(1))
        let expiring = try plugin.send("POST", "/v1/namespaces/workspace:ttl/memories",
                                       #"{"content":"short lived","kind":"fact","source":"agent","expires_at":"\#(soon.description)"}"#)
        #expect(expiring.status == 201, "\(expiring.text)")
        #expect(try plugin.send("POST", "/v1/namespaces/workspace:ttl/memories", #"{"content":"kept","kind":"fact","source":"agent"}"#).status == 201)

        let pool = database.pool(maxConnections: 1)
        defer { Task { await pool.shutdown() } }
        var remaining = 2
        for _ in 0..<100 where remaining != 1 {
            try await Task.sleep(for: .milliseconds(100))
            remaining = try await pool.query("SELECT count(*)::int FROM memory_plugin.memory_records").rows[0].decode(Int.self, at: 0)
        }
        #expect(remaining == 1, "the janitor did not delete the expired memory")

        let metrics = try plugin.send("GET", "/metrics")
        #expect(metrics.status == 200)
        let deleted = metrics.text.split(separator: "\n").first { $0.hasPrefix("memory_plugin_janitor_deleted_total ") }
        #expect(deleted.flatMap { Int($0.split(separator: " ")[1]) } ?? 0 >= 1, "\(metrics.text)")
        #expect(metrics.text.contains("memory_plugin_requests_total{"))
        #expect(metrics.text.contains(#"memory_plugin_db_pool_connections{state="in_use"}"#))
    }

    @Test func sigtermLetsTheRequestInFlightFinishThenExitsCleanly() async throws {
        let database = try await TestPostgres.createDatabase("plugin")
        defer { database.drop() }
        // A statement timeout far above the plugin's 5 s default, so a machine slowed by the
        // rest of the suite cannot turn "blocked on the lock" into "cancelled".
        let plugin = try await RunningPlugin(databaseURL: database.url, extra: ["MEMORY_PLUGIN_STATEMENT_TIMEOUT": "90s"])
        #expect(try plugin.send("POST", "/v1/namespaces/workspace:drain/memories", #"{"content":"first","kind":"fact","source":"agent"}"#).status == 201)

        // Lock, request, watch, signal and release all run on threads of their own, with
        // blocking connections: the cooperative pool, which the rest of a parallel suite can
        // keep busy for seconds, never sits between two steps.
        let url = database.url
        let process = plugin.process
        let choreography = BlockingCall { () throws -> (waiting: Int, signalled: ContinuousClock.Instant, response: TestHTTP.Response) in
            let holder = try PostgresConnection.connect(url)
            _ = try holder.simpleQuery("BEGIN; LOCK TABLE memory_plugin.memory_records IN ACCESS EXCLUSIVE MODE")
            let inFlight = BlockingCall {
                try plugin.send("POST", "/v1/namespaces/workspace:drain/memories", #"{"content":"in flight","kind":"fact","source":"agent"}"#)
            }
            // SIGTERM only once the commit itself (not autovacuum or the janitor) waits on the lock.
            let watcher = try PostgresConnection.connect(url)
            var waiting = 0
            let deadline = ContinuousClock.now + .seconds(60)
            while waiting == 0, ContinuousClock.now < deadline {
                Thread.sleep(forTimeInterval: 0.025)
                waiting = try watcher.query(
                    """
                    SELECT count(*)::int FROM pg_stat_activity
                    WHERE datname = current_database() AND wait_event_type = 'Lock' AND backend_type = 'client backend'
                      AND query LIKE '%INSERT INTO memory_plugin.memory_records%'
                    """
                )[0].decode(Int.self, at: 0)
            }
            watcher.close()
            let signalled = ContinuousClock.now
            process.signal(SIGTERM)
            Thread.sleep(forTimeInterval: 0.3)
            _ = try holder.simpleQuery("COMMIT")
            holder.close()
            return (waiting, signalled, try inFlight.blockingValue())
        }
        let (waiting, signalled, response) = try await choreography.value()
        #expect(waiting >= 1, "the commit never reached the lock")
        #expect(response.status == 201, "the request in flight was cut off: \(response.status) \(response.text)")
        let outcome = plugin.process.wait()
        #expect(outcome.status == 0, "stderr: \(outcome.stderr)")
        #expect(ContinuousClock.now - signalled < .seconds(10), "the drain took longer than DESIGN's 10 s")

        let check = database.pool(maxConnections: 1)
        let contents = try await check.query("SELECT content FROM memory_plugin.memory_records ORDER BY content").rows.map { try $0.decode(String.self, at: 0) }
        await check.shutdown()
        #expect(contents == ["first", "in flight"])
    }
}

/// Runs a blocking call on a thread of its own; `value()` waits for it without blocking.
final class BlockingCall<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var outcome: Result<T, any Error>?

    init(_ body: @escaping @Sendable () throws -> T) {
        Thread { [self] in
            let result = Result { try body() }
            lock.withLock { outcome = result }
        }.start()
    }

    /// Waits on the calling thread; for callers that are themselves on a thread of their own.
    func blockingValue() throws -> T {
        while true {
            if let outcome = lock.withLock({ outcome }) { return try outcome.get() }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    func value() async throws -> T {
        while true {
            if let outcome = lock.withLock({ outcome }) { return try outcome.get() }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
