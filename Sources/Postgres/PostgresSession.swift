import NIOPosix

/// A connection lent by the pool for the duration of one `withConnection` body. Each
/// call runs on the pool's threads; cancelling the calling task cancels the statement
/// on the server.
public struct PostgresSession: Sendable {
    let connection: PostgresConnection
    let threads: NIOThreadPool

    /// The backend's process id (for tests and logs).
    public var backendPID: Int32 { connection.backendPID }

    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> PostgresResult {
        try await run { try $0.query(sql, parameters) }
    }

    /// Runs a hot single-row statement prepared once per connection (see `PostgresConnection.query(prepared:)`).
    @discardableResult
    public func query(prepared sql: String, _ parameters: [any PostgresEncodable] = []) async throws -> PostgresResult {
        try await run { try $0.query(prepared: sql, parameters) }
    }

    /// Runs SQL that may contain several statements and no parameters (migration files).
    public func simpleQuery(_ sql: String) async throws {
        try await run { _ = try $0.simpleQuery(sql) }
    }

    public func pipeline(_ statements: [PostgresConnection.Statement]) async throws -> [Result<PostgresResult, PostgresError>] {
        try await run { try $0.pipeline(statements) }
    }

    /// Sets this session's statement_timeout; nil means none.
    public func setStatementTimeout(_ timeout: Duration?) async throws {
        let milliseconds = timeout?.wholeMilliseconds ?? 0
        try await run { try $0.setStatementTimeout(milliseconds: milliseconds) }
    }

    /// BEGIN ... COMMIT around `body`; a thrown error (or cancellation) rolls back.
    public func transaction<T: Sendable>(_ body: (PostgresSession) async throws -> T) async throws -> T {
        try await simpleQuery("BEGIN")
        do {
            let value = try await body(self)
            try await simpleQuery("COMMIT")
            return value
        } catch {
            // The rollback must run even when the task was cancelled, or the connection
            // would go back to the pool inside an aborted transaction.
            try? await run { _ = try $0.simpleQuery("ROLLBACK") }
            throw error
        }
    }

    /// Holds a session-level advisory lock around `body`, waiting for it if another
    /// session (in this or another process) holds it.
    public func withAdvisoryLock<T: Sendable>(_ key: Int64, _ body: (PostgresSession) async throws -> T) async throws -> T {
        try await query("SELECT pg_advisory_lock($1)", [key])
        do {
            let value = try await body(self)
            try await query("SELECT pg_advisory_unlock($1)", [key])
            return value
        } catch {
            try? await run { _ = try $0.query("SELECT pg_advisory_unlock($1)", [key]) }
            throw error
        }
    }

    /// Runs a blocking libpq call on the pool's threads, cancelling it on the server if
    /// the calling task is cancelled.
    private func run<T: Sendable>(_ work: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        let connection = connection
        return try await withTaskCancellationHandler {
            try await threads.runIfActive { try work(connection) }
        } onCancel: {
            connection.cancel()
        }
    }
}
