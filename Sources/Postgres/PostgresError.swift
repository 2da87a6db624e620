/// A five-character SQLSTATE code (PostgreSQL Appendix A), so callers map failures
/// to answers by code and class, never by matching message text.
public struct SQLState: Sendable, Hashable, CustomStringConvertible {
    public let code: String
    public init(_ code: String) { self.code = code }

    /// The two-character class, e.g. "08" for connection exceptions.
    public var errorClass: Substring { code.prefix(2) }
    public var description: String { code }

    public static let uniqueViolation = SQLState("23505")
    public static let foreignKeyViolation = SQLState("23503")
    public static let notNullViolation = SQLState("23502")
    public static let checkViolation = SQLState("23514")
    public static let invalidTextRepresentation = SQLState("22P02")
    public static let stringDataRightTruncation = SQLState("22001")
    public static let numericValueOutOfRange = SQLState("22003")
    public static let characterNotInRepertoire = SQLState("22021")
    public static let untranslatableCharacter = SQLState("22P05")
    public static let dataException = SQLState("22000")
    public static let queryCanceled = SQLState("57014")
    public static let adminShutdown = SQLState("57P01")
    public static let crashShutdown = SQLState("57P02")
    public static let cannotConnectNow = SQLState("57P03")
    public static let serializationFailure = SQLState("40001")
    public static let deadlockDetected = SQLState("40P01")
    public static let undefinedTable = SQLState("42P01")
    public static let undefinedObject = SQLState("42704")
    public static let undefinedFile = SQLState("58P01")
    public static let duplicateObject = SQLState("42710")
    public static let insufficientPrivilege = SQLState("42501")
    public static let lockNotAvailable = SQLState("55P03")
    /// libpq gives no SQLSTATE for client-side connection failures; we use the standard ones.
    public static let unableToConnect = SQLState("08001")
    public static let connectionFailure = SQLState("08006")
}

/// Everything the PostgreSQL layer can fail with. `description` is safe for logs (no
/// parameters, no SQL text, no passwords); HTTP handlers map `kind`/`sqlState` to
/// their own messages and never forward `serverMessage` to a client.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The server reported an error (see `sqlState`).
        case server
        /// Could not connect, or the connection was lost (sqlState class 08).
        case connection
        /// No pooled connection became free within the acquire timeout.
        case poolTimeout
        /// The pool was shut down.
        case poolClosed
        /// The calling task was cancelled; the query was cancelled on the server.
        case cancelled
        /// A value could not be decoded into the requested Swift type.
        case decoding
        /// The API was used in a way libpq refused (e.g. nested pipeline).
        case usage
    }

    public let kind: Kind
    public let sqlState: SQLState?
    /// The server's primary message or libpq's text. For logs at most; may contain values.
    public let serverMessage: String

    public init(kind: Kind, sqlState: SQLState? = nil, message: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.serverMessage = message
    }

    /// True when the database is unreachable or went away: answer 503, retry later.
    public var isConnectionProblem: Bool {
        if kind == .connection || kind == .poolTimeout || kind == .poolClosed { return true }
        guard let sqlState else { return false }
        return sqlState.errorClass == "08" || sqlState == .adminShutdown || sqlState == .crashShutdown
            || sqlState == .cannotConnectNow
    }

    /// True for a statement cancelled by statement_timeout (or an operator's pg_cancel_backend).
    public var isQueryCanceled: Bool { sqlState == .queryCanceled }

    public var description: String {
        switch kind {
        case .server:
            return "database error \(sqlState?.code ?? "?????"): \(serverMessage)"
        case .connection:
            return "database connection failed: \(serverMessage)"
        case .poolTimeout, .poolClosed, .usage, .decoding:
            return serverMessage
        case .cancelled:
            return "query cancelled"
        }
    }
}
