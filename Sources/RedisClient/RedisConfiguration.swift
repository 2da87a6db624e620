/// Where Redis is and how to talk to it.
///
/// Build one from a URL, `redis://[user:password@]host:port/db`, or member by member.
/// `description` redacts the password, so a configuration can be logged safely.
public struct RedisConfiguration: Sendable, Hashable {
    /// Host name or IP address (IPv6 without brackets).
    public var host: String
    /// TCP port, 1...65535.
    public var port: Int
    /// ACL user for `AUTH username password`; `nil` authenticates as the default user.
    public var username: String?
    /// Password for `AUTH`; `nil` skips authentication.
    public var password: String?
    /// Database index selected with `SELECT` after connecting.
    public var database: Int
    /// Number of connections `RedisClient` keeps (pub/sub uses its own, extra connection).
    public var poolSize: Int
    /// How long establishing the TCP connection may take.
    public var connectTimeout: Duration
    /// How long a reply may take before the command fails with `RedisError.timeout`.
    public var commandTimeout: Duration
    /// Delay before the first background reconnect attempt after a failure; it doubles on every
    /// further failure up to `maximumReconnectDelay`.
    public var initialReconnectDelay: Duration
    /// Cap for the reconnect delay.
    public var maximumReconnectDelay: Duration
    /// Bounds on what the server may send.
    public var parserLimits: RESPParser.Limits

    /// `redis://127.0.0.1:6379/0`
    public static let `default` = RedisConfiguration()

    /// Creates a configuration member by member; call `validate()` (or let `RedisClient` do it).
    public init(
        host: String = "127.0.0.1",
        port: Int = 6379,
        username: String? = nil,
        password: String? = nil,
        database: Int = 0,
        poolSize: Int = 4,
        connectTimeout: Duration = .seconds(2),
        commandTimeout: Duration = .seconds(5),
        initialReconnectDelay: Duration = .milliseconds(50),
        maximumReconnectDelay: Duration = .seconds(2),
        parserLimits: RESPParser.Limits = .default
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.poolSize = poolSize
        self.connectTimeout = connectTimeout
        self.commandTimeout = commandTimeout
        self.initialReconnectDelay = initialReconnectDelay
        self.maximumReconnectDelay = maximumReconnectDelay
        self.parserLimits = parserLimits
    }

    /// Parses `redis://[user:password@]host[:port][/db]`.
    ///
    /// - Parameters:
    ///   - url: The URL. User name and password may be percent-encoded. `rediss://` (TLS) is refused.
    ///   - password: A password given separately, e.g. from `REDIS_PASSWORD`. When non-empty it
    ///     takes precedence over a password in the URL.
    /// - Throws: `RedisConfigurationError`, whose message never contains the password.
    public init(url: String, password: String? = nil) throws(RedisConfigurationError) {
        self.init()
        guard let schemeEnd = url.firstRange(of: "://") else {
            throw .malformedURL("expected a URL of the form redis://[user:password@]host:port/db")
        }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        switch scheme {
        case "redis": break
        case "rediss": throw .tlsNotSupported
        default:
            let printable = scheme.allSatisfy { $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." }
            throw .unsupportedScheme(printable ? scheme : "?")
        }

        var rest = url[schemeEnd.upperBound...]
        if rest.contains("?") || rest.contains("#") {
            throw .malformedURL("query parameters and fragments are not supported; put the database in the path")
        }
        let path: Substring
        if let slash = rest.firstIndex(of: "/") {
            path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        } else {
            path = ""
        }

        // The password may itself contain '@' only when percent-encoded, so the last '@' ends the user info.
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            let user: Substring
            let secret: Substring?
            if let colon = userInfo.firstIndex(of: ":") {
                user = userInfo[..<colon]
                secret = userInfo[userInfo.index(after: colon)...]
            } else {
                user = userInfo
                secret = nil
            }
            guard let decodedUser = Self.percentDecoded(user) else {
                throw .malformedURL("the user name contains an invalid percent escape")
            }
            self.username = decodedUser.isEmpty ? nil : decodedUser
            if let secret {
                guard let decodedSecret = Self.percentDecoded(secret) else {
                    throw .malformedURL("the password contains an invalid percent escape")
                }
                self.password = decodedSecret.isEmpty ? nil : decodedSecret
            }
        }

        let hostText: Substring
        let portText: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else {
                throw .malformedURL("an IPv6 address must be closed by ']'")
            }
            hostText = rest[rest.index(after: rest.startIndex)..<close]
            let afterBracket = rest[rest.index(after: close)...]
            if afterBracket.isEmpty {
                portText = nil
            } else if afterBracket.hasPrefix(":") {
                portText = afterBracket.dropFirst()
            } else {
                throw .malformedURL("unexpected text after the IPv6 address")
            }
        } else if let colon = rest.firstIndex(of: ":") {
            hostText = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        } else {
            hostText = rest
            portText = nil
        }
        guard !hostText.isEmpty else { throw .missingHost }
        self.host = String(hostText)
        if let portText {
            // Deliberately not echoed: a mistyped URL can put a password where the port belongs.
            guard let port = Int(portText) else { throw .invalidPort }
            self.port = port
        }
        if !path.isEmpty {
            guard let database = Int(path) else { throw .invalidDatabase }
            self.database = database
        }
        if let password, !password.isEmpty {
            self.password = password
        }
        try validate()
    }

    /// Checks ranges and combinations that a member-wise initialiser cannot enforce.
    public func validate() throws(RedisConfigurationError) {
        guard !host.isEmpty else { throw .missingHost }
        guard (1...65535).contains(port) else { throw .invalidPort }
        guard database >= 0 else { throw .invalidDatabase }
        guard poolSize >= 1 else { throw .invalidPoolSize }
        if username != nil, password == nil { throw .usernameWithoutPassword }
        guard connectTimeout > .zero, commandTimeout > .zero,
            initialReconnectDelay > .zero, maximumReconnectDelay >= initialReconnectDelay
        else { throw .invalidTimeout }
    }

    /// The wait before reconnecting after `failures` consecutive failed attempts (at least 1):
    /// doubling from `initialReconnectDelay`, capped at `maximumReconnectDelay`.
    func reconnectDelay(afterFailures failures: Int) -> Duration {
        // The exponent is capped so the multiplication cannot overflow.
        let doublings = min(max(failures - 1, 0), 20)
        return min(initialReconnectDelay * (1 << doublings), maximumReconnectDelay)
    }

    /// Decodes `%XX` escapes; `nil` when an escape is malformed or the result is not UTF-8.
    private static func percentDecoded(_ text: Substring) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                return nil
            }
            bytes.append(high << 4 | low)
        }
        let decoded = String(decoding: bytes, as: UTF8.self)
        // Decoding repairs invalid UTF-8; a changed round trip means the escapes were not UTF-8.
        return decoded.utf8.elementsEqual(bytes) ? decoded : nil
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension RedisConfiguration: CustomStringConvertible {
    /// The configuration as a URL with the password replaced by `***`.
    public var description: String {
        let host = self.host.contains(":") ? "[\(self.host)]" : self.host
        let credentials: String
        switch (username, password) {
        case (nil, nil): credentials = ""
        case (let user?, nil): credentials = "\(user)@"
        case (let user, _?): credentials = "\(user ?? ""):***@"
        }
        return "redis://\(credentials)\(host):\(port)/\(database)"
    }
}

/// Why a `RedisConfiguration` was rejected. Messages never include the password
/// (nor any other part of the URL that might be one).
public enum RedisConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `rediss://` was given; this client has no TLS support.
    case tlsNotSupported
    /// The URL's scheme is not `redis`.
    case unsupportedScheme(String)
    /// The URL could not be parsed; the reason says which part.
    case malformedURL(String)
    /// No host name was given.
    case missingHost
    /// The port is not a number in 1...65535.
    case invalidPort
    /// The database (URL path) is not a non-negative integer.
    case invalidDatabase
    /// A user name was given without a password.
    case usernameWithoutPassword
    /// The pool needs at least one connection.
    case invalidPoolSize
    /// A timeout or reconnect delay is not positive, or the maximum delay is below the initial one.
    case invalidTimeout

    public var description: String {
        switch self {
        case .tlsNotSupported:
            "invalid Redis configuration: rediss:// (TLS) is not supported by this client; use redis:// on a trusted network"
        case .unsupportedScheme(let scheme):
            "invalid Redis configuration: unsupported URL scheme '\(scheme)'; expected redis://"
        case .malformedURL(let reason):
            "invalid Redis configuration: \(reason)"
        case .missingHost:
            "invalid Redis configuration: the URL has no host"
        case .invalidPort:
            "invalid Redis configuration: the port must be a number between 1 and 65535"
        case .invalidDatabase:
            "invalid Redis configuration: the database (URL path) must be a non-negative integer"
        case .usernameWithoutPassword:
            "invalid Redis configuration: a user name needs a password"
        case .invalidPoolSize:
            "invalid Redis configuration: the pool size must be at least 1"
        case .invalidTimeout:
            "invalid Redis configuration: timeouts and reconnect delays must be positive, the maximum delay at least the initial one"
        }
    }
}
