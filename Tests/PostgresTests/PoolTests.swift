import Foundation
import Postgres
import Synchronization
import TestSupport
import Testing

@Suite("Connection pool")
struct PoolTests {
    @Test func twoHundredConcurrentTasksOnAPoolOfFourAllComplete() async throws {
        // A long acquire timeout: all 200 must complete however slow the machine is.
        try await withTestDatabase("pool", maxConnections: 4, acquireTimeout: .seconds(120)) { database, pool in
            let peak = PeakCounter()
            let sum = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<200 {
                    group.addTask {
                        let row = try await pool.query("SELECT $1::int + 0 AS n, pg_sleep(0.002)", [index]).first!
                        let open = pool.statistics.open
                        peak.record(open)
                        return try row.decode(Int.self, "n")
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(sum == (0..<200).reduce(0, +))
            #expect(peak.value <= 4)
            let stats = pool.statistics
            #expect(stats.inUse == 0)
            #expect(stats.waiting == 0)
            // The server saw at most four sessions from us.
            let sessions = try await pool.query("SELECT count(*) FROM pg_stat_activity WHERE datname = $1", [database.name])
            #expect(try sessions[0].decode(Int.self, at: 0) <= 4)
        }
    }

    @Test func acquireTimeoutFiresWithAClearError() async throws {
        let database = try await TestPostgres.createDatabase("pool")
        defer { database.drop() }
        let pool = database.pool(maxConnections: 1, acquireTimeout: .milliseconds(200))
        let holder = Task {
            try await pool.withConnection { session in
                try await session.query("SELECT pg_sleep(1.5)")
            }
        }
        // Wait until the holder really holds the only connection (a fixed head start is
        // not enough when a parallel suite keeps the machine busy).
        for _ in 0..<500 where pool.statistics.inUse < 1 { try await Task.sleep(for: .milliseconds(10)) }
        #expect(pool.statistics.inUse == 1)
        let started = ContinuousClock.now
        let error = await #expect(throws: PostgresError.self) { try await pool.query("SELECT 1") }
        let waited = ContinuousClock.now - started
        #expect(error?.kind == .poolTimeout)
        #expect(error?.description.contains("no database connection became free") == true)
        #expect(waited >= .milliseconds(150) && waited < .seconds(5))
        _ = try await holder.value
        #expect(try await pool.query("SELECT 2").first!.decode(Int.self, at: 0) == 2)
        await pool.shutdown()
    }

    @Test func aQuerySurvivesTheServerRestartingBetweenTwoCalls() async throws {
        let server = try EphemeralPostgres.start()
        defer { server.destroy() }
        let pool = PostgresPool(.init(conninfo: server.url, maxConnections: 2))
        let before = try await pool.withConnection { try await $0.query("SELECT pg_backend_pid()").first!.decode(Int32.self, at: 0) }
        try server.stopServer()
        try server.startServer()
        let after = try await pool.withConnection { try await $0.query("SELECT pg_backend_pid()").first!.decode(Int32.self, at: 0) }
        #expect(before != after)
        await pool.shutdown()
    }

    @Test func queriesFailFastWhileTheServerIsDownAndRecoverWhenItReturns() async throws {
        let server = try EphemeralPostgres.start()
        defer { server.destroy() }
        let pool = PostgresPool(.init(conninfo: server.url, maxConnections: 2))
        try await pool.query("SELECT 1")
        try server.stopServer()
        let started = ContinuousClock.now
        let error = await #expect(throws: PostgresError.self) { try await pool.query("SELECT 1") }
        #expect(error?.isConnectionProblem == true)
        #expect(ContinuousClock.now - started < .seconds(10))  // no hang; busy CI machines are slow
        try server.startServer()
        #expect(try await pool.query("SELECT 3").first!.decode(Int.self, at: 0) == 3)
        await pool.shutdown()
    }

    @Test func statementTimeoutCancelsALongQuery() async throws {
        let database = try await TestPostgres.createDatabase("pool")
        defer { database.drop() }
        let pool = database.pool(maxConnections: 1, statementTimeout: .milliseconds(100))
        let started = ContinuousClock.now
        let error = await #expect(throws: PostgresError.self) { try await pool.query("SELECT pg_sleep(30)") }
        #expect(error?.isQueryCanceled == true)
        #expect(ContinuousClock.now - started < .seconds(10))
        // A session can lift the limit for one piece of work.
        try await pool.withConnection { session in
            try await session.setStatementTimeout(nil)
            try await session.query("SELECT pg_sleep(0.2)")
            try await session.setStatementTimeout(.milliseconds(100))
        }
        await pool.shutdown()
    }

    @Test func cancellingTheTaskCancelsTheQueryOnTheServer() async throws {
        try await withTestDatabase("pool", maxConnections: 1) { database, pool in
            let task = Task { try await pool.query("SELECT pg_sleep(30) AS cancel_me") }
            defer { task.cancel() }
            // Cancel only once the statement is running on the server.
            let observer = try PostgresConnection.connect(database.url)
            defer { observer.close() }
            for _ in 0..<200 {
                let running = try observer.query("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%cancel_me%' AND state = 'active' AND pid <> pg_backend_pid()")
                if try running[0].decode(Int.self, at: 0) > 0 { break }
                try await Task.sleep(for: .milliseconds(25))
            }
            let started = ContinuousClock.now
            task.cancel()
            let error = await #expect(throws: PostgresError.self) { try await task.value }
            #expect(error?.kind == .cancelled)
            #expect(ContinuousClock.now - started < .seconds(10))
            #expect(try await pool.query("SELECT 4").first!.decode(Int.self, at: 0) == 4)
        }
    }

    @Test func aThrowingTransactionRollsBack() async throws {
        try await withTestDatabase("pool") { _, pool in
            try await pool.query("CREATE TABLE ledger (n int)")
            struct Abort: Error {}
            await #expect(throws: Abort.self) {
                try await pool.transaction { session in
                    try await session.query("INSERT INTO ledger VALUES ($1)", [1])
                    throw Abort()
                }
            }
            _ = try await pool.transaction { session in
                try await session.query("INSERT INTO ledger VALUES ($1)", [2])
            }
            let rows = try await pool.query("SELECT n FROM ledger").rows.map { try $0.decode(Int.self, at: 0) }
            #expect(rows == [2])
        }
    }

    @Test func advisoryLockMakesTheSecondHolderWait() async throws {
        try await withTestDatabase("pool", maxConnections: 2) { _, pool in
            let order = EventLog()
            let first = Task {
                try await pool.withConnection { session in
                    try await session.withAdvisoryLock(42) { _ in
                        order.append("first-in")
                        try await Task.sleep(for: .milliseconds(300))
                        order.append("first-out")
                    }
                }
            }
            while !order.events.contains("first-in") { try await Task.sleep(for: .milliseconds(10)) }
            try await pool.withConnection { session in
                try await session.withAdvisoryLock(42) { _ in order.append("second-in") }
            }
            try await first.value
            #expect(order.events == ["first-in", "first-out", "second-in"])
        }
    }

    @Test func connectionsAcceptKeywordConninfoAndPGEnvironmentVariables() async throws {
        // Keyword form built from the URL form the suite was given.
        let url = URLComponents(string: TestPostgres.adminURL)!
        let keywords = "host=\(url.host!) port=\(url.port!) user=\(url.user ?? "postgres") dbname=postgres application_name=kw-test"
        let connection = try PostgresConnection.connect(keywords)
        defer { connection.close() }
        let name = try connection.query("SELECT current_setting('application_name')").first!.decode(String.self, at: 0)
        #expect(name == "kw-test")
        // Without an application name in the conninfo, our fallback applies.
        let plain = try PostgresConnection.connect(TestPostgres.adminURL)
        defer { plain.close() }
        #expect(try plain.query("SELECT current_setting('application_name')").first!.decode(String.self, at: 0) == "molecule-tenant")
    }
}

final class PeakCounter: Sendable {
    private let state = Mutex(0)
    func record(_ value: Int) { state.withLock { $0 = max($0, value) } }
    var value: Int { state.withLock { $0 } }
}

final class EventLog: Sendable {
    private let state = Mutex<[String]>([])
    func append(_ event: String) { state.withLock { $0.append(event) } }
    var events: [String] { state.withLock { $0 } }
}
