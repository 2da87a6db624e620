import Foundation
import Postgres

/// The PostgreSQL server the suite runs against, started by Tests/services.sh
/// (Tests/run.sh does it for you). Each test gets a database of its own, so tests can
/// run in parallel without seeing each other's rows.
public enum TestPostgres {
    /// The admin URL of the test server. Tests fail loudly without one: a suite that
    /// silently skips its database tests proves nothing.
    public static var adminURL: String {
        guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty else {
            fatalError("DATABASE_URL is not set: run the suite with Tests/run.sh, or start Tests/services.sh and export what it prints")
        }
        return url
    }

    /// Creates an empty database and returns its URL. Names are random, so parallel
    /// tests and re-runs never collide.
    public static func createDatabase(_ label: String = "t", on server: String? = nil) async throws -> TestDatabaseHandle {
        let adminURL = server ?? adminURL
        let name = "mt_\(label.lowercased().filter { $0.isLetter || $0.isNumber })_\(UUID().uuidString.prefix(8).lowercased())"
        let admin = try PostgresConnection.connect(adminURL)
        defer { admin.close() }
        // CREATE DATABASE takes no parameters; the name is built only from [a-z0-9_] above.
        try admin.simpleQuery("CREATE DATABASE \(name)")
        return TestDatabaseHandle(name: name, url: url(adminURL, database: name), adminURL: adminURL)
    }

    /// `postgres://user@host:port/db?x` with the database replaced.
    public static func url(_ base: String, database: String) -> String {
        guard let schemeEnd = base.range(of: "://") else { return base + " dbname=\(database)" }
        let rest = base[schemeEnd.upperBound...]
        let hostEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let query = rest[hostEnd...].firstIndex(of: "?").map { String(rest[$0...]) } ?? ""
        return String(base[..<hostEnd]) + "/" + database + query
    }
}

/// A database created for one test; `drop()` removes it.
public struct TestDatabaseHandle: Sendable {
    public let name: String
    public let url: String
    /// The server's admin URL the database was created through, and is dropped through.
    public let adminURL: String

    /// The acquire timeout is generous: with the whole suite running on two cores, a
    /// small pool under load can stay busy for seconds; tests of the timeout pass their own.
    public func pool(maxConnections: Int = 4, acquireTimeout: Duration = .seconds(30), statementTimeout: Duration? = nil) -> PostgresPool {
        PostgresPool(.init(conninfo: url, maxConnections: maxConnections, acquireTimeout: acquireTimeout, statementTimeout: statementTimeout))
    }

    public func drop() {
        guard let admin = try? PostgresConnection.connect(adminURL) else { return }
        defer { admin.close() }
        _ = try? admin.simpleQuery("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }
}

/// Runs `body` with a fresh database and pool, dropping both afterwards.
public func withTestDatabase<T>(
    _ label: String = "t",
    maxConnections: Int = 4,
    acquireTimeout: Duration = .seconds(5),
    on server: String? = nil,
    _ body: (TestDatabaseHandle, PostgresPool) async throws -> T
) async throws -> T {
    let database = try await TestPostgres.createDatabase(label, on: server)
    let pool = database.pool(maxConnections: maxConnections, acquireTimeout: acquireTimeout)
    do {
        let value = try await body(database, pool)
        await pool.shutdown()
        database.drop()
        return value
    } catch {
        await pool.shutdown()
        database.drop()
        throw error
    }
}
