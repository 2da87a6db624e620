import CLibPQ
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection. Its methods block the calling thread, so the pool only calls
/// them from its own thread pool, never from an event loop or the cooperative pool.
///
/// `@unchecked Sendable`: the pool hands a connection to one holder at a time, and libpq
/// allows a connection to move between threads as long as only one uses it at once.
/// The only cross-thread call, `cancel()`, goes through libpq's thread-safe PGcancel
/// under `cancelState`'s lock.
public final class PostgresConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    private let cancelState: Mutex<CancelState>
    /// The statement_timeout currently set on the session, to avoid redundant round trips.
    private var statementTimeoutMilliseconds: Int?
    /// Statements prepared on this connection, by SQL text: their server-side names.
    private var preparedNames: [String: String] = [:]
    /// The backend's process id, for logs and tests.
    public let backendPID: Int32

    /// PGcancel objects are documented as thread-safe, and this state only lives inside a Mutex.
    struct CancelState: @unchecked Sendable {
        var handle: OpaquePointer?
        var busy = false
        var cancelRequested = false
    }

    /// Connects with any libpq conninfo or URL; PG* environment variables, sslmode and
    /// passfile apply as libpq defines them.
    public static func connect(
        _ conninfo: String,
        applicationName: String = "molecule-tenant",
        connectTimeoutSeconds: Int = 5
    ) throws(PostgresError) -> PostgresConnection {
        // Entries before "dbname" are defaults: anything the caller's conninfo sets wins,
        // because libpq lets the expanded dbname override earlier keywords.
        let keys = ["fallback_application_name", "connect_timeout", "dbname"]
        let values = [applicationName, String(connectTimeoutSeconds), conninfo]
        let connection: OpaquePointer? = withCStringArray(keys) { keyPointers in
            withCStringArray(values) { valuePointers in
                PQconnectdbParams(keyPointers, valuePointers, 1)
            }
        }
        guard let connection else {
            throw PostgresError(kind: .connection, sqlState: .unableToConnect, message: "out of memory allocating a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = libpqMessage(connection)
            PQfinish(connection)
            throw PostgresError(kind: .connection, sqlState: .unableToConnect, message: message)
        }
        // libpq prints NOTICEs ("relation already exists, skipping") to stderr by default;
        // they are expected chatter from idempotent SQL and must not reach users' terminals.
        PQsetNoticeProcessor(connection, { _, _ in }, nil)
        let result = PostgresConnection(handle: connection)
        // Text results are parsed by our decoders, which expect ISO dates in UTC and
        // round-trippable floats whatever the server's or role's settings are.
        try result.simpleQuery("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3; SET IntervalStyle = 'iso_8601'")
        return result
    }

    private init(handle: OpaquePointer) {
        self.handle = handle
        self.backendPID = PQbackendPID(handle)
        self.cancelState = Mutex(CancelState(handle: PQgetCancel(handle)))
    }

    deinit { close() }

    /// Closes the connection; safe to call twice.
    public func close() {
        cancelState.withLock { state in
            if let cancel = state.handle { PQfreeCancel(cancel) }
            state.handle = nil
        }
        if let handle { PQfinish(handle) }
        handle = nil
    }

    public var isOpen: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    /// The server's version number, e.g. 150018.
    public var serverVersion: Int { handle.map { Int(PQserverVersion($0)) } ?? 0 }

    /// Asks the server to cancel the statement now running on this connection, if any.
    /// Safe to call from any thread.
    public func cancel() {
        cancelState.withLock { state in
            guard state.busy, let cancel = state.handle else { return }
            state.cancelRequested = true
            var buffer = [CChar](repeating: 0, count: 256)
            _ = PQcancel(cancel, &buffer, Int32(buffer.count))
        }
    }

    /// True when an idle connection is still usable. After a server restart the socket
    /// of an idle connection holds a FATAL message or EOF; any unexpected input on an
    /// idle connection means we cannot trust it, so the pool replaces it.
    public func isHealthyWhileIdle() -> Bool {
        guard let handle, PQstatus(handle) == CONNECTION_OK, PQtransactionStatus(handle) == PQTRANS_IDLE else { return false }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, 0) == 0
    }

    /// Runs one parameterised statement. Values travel separately from the SQL text, so
    /// nothing a caller passes can change the statement.
    @discardableResult
    public func query(_ sql: String, _ parameters: [any PostgresEncodable] = []) throws(PostgresError) -> PostgresResult {
        let handle = try liveHandle()
        try begin()
        defer { end() }
        guard try sendQuery(handle, sql, Self.texts(parameters)) else {
            throw connectionError(handle, fallback: "could not send the query")
        }
        return try collectSingleResult(handle)
    }

    /// Runs one parameterised statement as a prepared statement of this connection: the
    /// first call parses and plans it, later ones only execute. For hot statements whose
    /// plan does not depend on the values (single-row writes); PostgreSQL may switch a
    /// prepared statement to a generic plan, which suits those and not selective reads.
    @discardableResult
    public func query(prepared sql: String, _ parameters: [any PostgresEncodable] = []) throws(PostgresError) -> PostgresResult {
        let handle = try liveHandle()
        try begin()
        defer { end() }
        let texts = Self.texts(parameters)
        if let problem = Self.parameterProblem(texts) { throw problem }
        let name = try preparedName(handle, sql, parameterCount: parameters.count)
        guard sendPrepared(handle, name, texts) else { throw connectionError(handle, fallback: "could not send the query") }
        return try collectSingleResult(handle)
    }

    /// The server-side name of `sql` on this connection, preparing it on first use.
    /// Not in pipeline mode: the PREPARE waits for its reply.
    private func preparedName(_ handle: OpaquePointer, _ sql: String, parameterCount: Int) throws(PostgresError) -> String {
        if let existing = preparedNames[sql] { return existing }
        let name = "mt_\(preparedNames.count + 1)"
        guard PQsendPrepare(handle, name, sql, Int32(parameterCount), nil) == 1 else {
            throw connectionError(handle, fallback: "could not prepare the statement")
        }
        _ = try collectSingleResult(handle)
        preparedNames[sql] = name
        return name
    }

    private func sendPrepared(_ handle: OpaquePointer, _ name: String, _ texts: [String?]) -> Bool {
        withCStrings(texts) { values in
            PQsendQueryPrepared(handle, name, Int32(texts.count), values, nil, nil, 0) == 1
        }
    }

    /// Runs SQL that may hold several statements (migration files), without parameters.
    /// Returns the last statement's result.
    @discardableResult
    public func simpleQuery(_ sql: String) throws(PostgresError) -> PostgresResult? {
        let handle = try liveHandle()
        try begin()
        defer { end() }
        guard PQsendQuery(handle, sql) == 1 else {
            throw connectionError(handle, fallback: "could not send the query")
        }
        var last: PostgresResult?
        var firstError: PostgresError?
        while let raw = PQgetResult(handle) {
            let result = PostgresResult(taking: raw)
            if firstError == nil, let error = error(in: raw, handle: handle) {
                firstError = error
            }
            last = result
        }
        if let firstError { throw firstError }
        if PQstatus(handle) != CONNECTION_OK { throw connectionError(handle, fallback: "connection lost") }
        return last
    }

    /// Sets statement_timeout for this session (0 = none); skipped when unchanged.
    public func setStatementTimeout(milliseconds: Int) throws(PostgresError) {
        guard statementTimeoutMilliseconds != milliseconds else { return }
        try query("SELECT set_config('statement_timeout', $1, false)", [String(milliseconds)])
        statementTimeoutMilliseconds = milliseconds
    }

    /// One statement of a pipeline.
    public struct Statement: Sendable {
        public var sql: String
        public var parameters: [any PostgresEncodable]
        /// Run as a statement prepared once per connection (see `query(prepared:)`).
        public var prepared: Bool
        public init(_ sql: String, _ parameters: [any PostgresEncodable] = [], prepared: Bool = false) {
            self.sql = sql
            self.parameters = parameters
            self.prepared = prepared
        }
    }

    /// Runs statements in libpq pipeline mode: all are sent without waiting for replies,
    /// so a batch costs about one round trip. Each statement gets its own sync point and
    /// therefore its own implicit transaction: one failing never affects its neighbours.
    /// Returns one outcome per statement, in order.
    public func pipeline(_ statements: [Statement]) throws(PostgresError) -> [Result<PostgresResult, PostgresError>] {
        guard !statements.isEmpty else { return [] }
        let handle = try liveHandle()
        try begin()
        defer { end() }
        // Statements to run prepared are prepared first, each once, before the pipeline starts.
        var names: [String: String] = [:]
        for statement in statements where statement.prepared && names[statement.sql] == nil {
            names[statement.sql] = try preparedName(handle, statement.sql, parameterCount: statement.parameters.count)
        }
        guard PQenterPipelineMode(handle) == 1 else {
            throw PostgresError(kind: .usage, message: "cannot enter pipeline mode: \(Self.libpqMessage(handle))")
        }
        // Non-blocking so that sending a long batch can never deadlock against a server
        // that is waiting for us to read its replies.
        PQsetnonblocking(handle, 1)
        defer {
            PQsetnonblocking(handle, 0)
            // A pipeline left half-read cannot be reused; closing makes the pool replace it.
            if PQexitPipelineMode(handle) != 1 { close() }
        }
        var outcomes = [Result<PostgresResult, PostgresError>?](repeating: nil, count: statements.count)
        // Indices of the statements sent, in order; a statement that cannot be sent (a
        // NUL in a parameter) fails alone and is skipped.
        var sentIndices: [Int] = []
        var next = 0
        var completed = 0
        var current: Result<PostgresResult, PostgresError>?
        while completed < sentIndices.count || next < statements.count {
            // Keep a bounded number of statements in flight.
            while next < statements.count, sentIndices.count - completed < 512 {
                let index = next
                next += 1
                let statement = statements[index]
                // Made here, just before libpq copies it: a batch statement's parameters run
                // to a megabyte, so they are not all made up front.
                let texts = Self.texts(statement.parameters)
                if let problem = Self.parameterProblem(texts) {
                    outcomes[index] = .failure(problem)
                    continue
                }
                let queued = if let name = names[statement.sql] {
                    sendPrepared(handle, name, texts)
                } else {
                    try sendQuery(handle, statement.sql, texts)
                }
                guard queued, PQpipelineSync(handle) == 1 else {
                    throw connectionError(handle, fallback: "could not send a pipelined query")
                }
                sentIndices.append(index)
            }
            if completed == sentIndices.count { continue }
            let flush = PQflush(handle)
            if flush < 0 { throw connectionError(handle, fallback: "could not send a pipelined query") }
            guard PQconsumeInput(handle) == 1 else { throw connectionError(handle, fallback: "connection lost during a pipeline") }
            var progressed = false
            while completed < sentIndices.count, PQisBusy(handle) == 0 {
                progressed = true
                // nil marks the end of one statement's results; its sync result follows.
                guard let raw = PQgetResult(handle) else { continue }
                switch PQresultStatus(raw) {
                case PGRES_PIPELINE_SYNC:
                    PQclear(raw)
                    outcomes[sentIndices[completed]] = current ?? .failure(PostgresError(kind: .usage, message: "statement produced no result"))
                    completed += 1
                    current = nil
                case PGRES_PIPELINE_ABORTED:
                    PQclear(raw)
                    current = .failure(PostgresError(kind: .server, message: "statement skipped after an earlier error"))
                default:
                    if let error = error(in: raw, handle: handle) {
                        PQclear(raw)
                        current = .failure(error)
                    } else {
                        current = .success(PostgresResult(taking: raw))
                    }
                }
            }
            if !progressed {
                var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN) | (flush == 1 ? Int16(POLLOUT) : 0), revents: 0)
                if poll(&descriptor, 1, 60_000) < 0 && errno != EINTR {
                    throw PostgresError(kind: .connection, sqlState: .connectionFailure, message: "poll failed during a pipeline")
                }
            }
        }
        return outcomes.map { $0! }
    }

    // MARK: - Internals

    private func liveHandle() throws(PostgresError) -> OpaquePointer {
        guard let handle, PQstatus(handle) == CONNECTION_OK else {
            throw PostgresError(kind: .connection, sqlState: .connectionFailure, message: "connection is closed")
        }
        return handle
    }

    private func begin() throws(PostgresError) {
        try cancelState.withLock { (state) throws(PostgresError) in
            guard !state.busy else { throw PostgresError(kind: .usage, message: "connection is already running a statement") }
            state.busy = true
            state.cancelRequested = false
        }
    }

    private func end() {
        cancelState.withLock { $0.busy = false }
    }

    private var wasCancelled: Bool { cancelState.withLock { $0.cancelRequested } }

    private func sendQuery(_ handle: OpaquePointer, _ sql: String, _ texts: [String?]) throws(PostgresError) -> Bool {
        if let problem = Self.parameterProblem(texts) { throw problem }
        return withCStrings(texts) { values in
            PQsendQueryParams(handle, sql, Int32(texts.count), nil, values, nil, nil, 0) == 1
        }
    }

    static func texts(_ parameters: [any PostgresEncodable]) -> [String?] {
        parameters.map { $0.postgresText }
    }

    /// libpq takes C strings: a NUL would silently cut a value short. PostgreSQL text cannot
    /// hold NUL anyway, so such a value is refused instead of storing something else.
    static func parameterProblem(_ texts: [String?]) -> PostgresError? {
        for (position, text) in texts.enumerated() where text?.utf8.contains(0) == true {
            return PostgresError(kind: .usage, sqlState: .untranslatableCharacter, message: "parameter $\(position + 1) contains a NUL byte")
        }
        return nil
    }

    private func collectSingleResult(_ handle: OpaquePointer) throws(PostgresError) -> PostgresResult {
        var outcome: Result<PostgresResult, PostgresError>?
        while let raw = PQgetResult(handle) {
            if let error = error(in: raw, handle: handle) {
                PQclear(raw)
                if outcome == nil || (try? outcome?.get()) != nil { outcome = .failure(error) }
            } else if outcome == nil {
                outcome = .success(PostgresResult(taking: raw))
            } else {
                PQclear(raw)
            }
        }
        guard let outcome else { throw connectionError(handle, fallback: "no result from server") }
        return try outcome.get()
    }

    /// The error a PGresult carries, or nil when it succeeded.
    private func error(in result: OpaquePointer, handle: OpaquePointer) -> PostgresError? {
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE, PGRES_COPY_IN, PGRES_COPY_OUT:
            return nil
        default:
            let code = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) }
            let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            guard let code else {
                // No SQLSTATE: libpq reports a client-side failure, almost always a lost connection.
                return connectionError(handle, fallback: primary ?? "query failed")
            }
            if code == SQLState.queryCanceled.code && wasCancelled {
                return PostgresError(kind: .cancelled, sqlState: SQLState(code), message: "query cancelled")
            }
            return PostgresError(kind: .server, sqlState: SQLState(code), message: primary ?? "error \(code)")
        }
    }

    private func connectionError(_ handle: OpaquePointer, fallback: String) -> PostgresError {
        let message = Self.libpqMessage(handle)
        return PostgresError(kind: .connection, sqlState: .connectionFailure, message: message.isEmpty ? fallback : message)
    }

    static func libpqMessage(_ handle: OpaquePointer) -> String {
        guard let raw = PQerrorMessage(handle) else { return "" }
        var text = String(cString: raw)
        while text.last == "\n" || text.last == " " { text.removeLast() }
        // libpq writes several lines (reason, then a hint); log lines must stay one line.
        return text.split(separator: "\n").map { $0.trimmingPrefix(while: { $0 == " " || $0 == "\t" }) }.joined(separator: " ")
    }
}

private func withCStringArray<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return body(pointers.map { UnsafePointer($0) })
}

/// The strings as C strings for one call, without copying them: a native String is
/// stored NUL-terminated, so `withCString` lends its own bytes (a batch statement's
/// parameters are a megabyte that strdup would have copied).
private func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    var pointers: [UnsafePointer<CChar>?] = []
    pointers.reserveCapacity(strings.count)
    func lend(from index: Int) -> R {
        guard index < strings.count else { return body(pointers) }
        guard let string = strings[index] else {
            pointers.append(nil)
            return lend(from: index + 1)
        }
        return string.withCString { pointer in
            pointers.append(pointer)
            return lend(from: index + 1)
        }
    }
    return lend(from: 0)
}
