/// Everything that can go wrong when talking to Redis.
///
/// Messages carried by these cases come from the server or describe the protocol;
/// they never contain command arguments or credentials.
public enum RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server answered with an error reply, e.g. `WRONGTYPE Operation against a key holding the wrong kind of value`.
    case server(String)
    /// The connection was closed before a reply arrived. The command may or may not have been executed.
    case connectionClosed
    /// Redis cannot be reached right now (refused, unreachable, connect timeout). Nothing was sent.
    case unavailable
    /// No reply arrived within the configured command timeout. The connection was closed because
    /// replies on it can no longer be trusted to arrive in time; the command may or may not have been executed.
    case timeout
    /// The server rejected the credentials (`AUTH`). Carries the server's message, never the password.
    case authenticationFailed(String)
    /// The server sent bytes that are not valid RESP2, or a value larger than the configured limits.
    /// The connection is closed when this happens.
    case protocolError(String)
    /// A reply had a different shape than the typed helper expected (e.g. an array where an integer was due).
    case unexpectedReply(String)
    /// The client or subscriber was shut down.
    case shutdown

    /// A human-readable message, safe to log.
    public var description: String {
        switch self {
        case .server(let message): "Redis server error: \(message)"
        case .connectionClosed: "Redis connection closed before the reply arrived"
        case .unavailable: "Redis is unavailable"
        case .timeout: "Redis command timed out"
        case .authenticationFailed(let message): "Redis authentication failed: \(message)"
        case .protocolError(let message): "Redis protocol error: \(message)"
        case .unexpectedReply(let message): "unexpected Redis reply: \(message)"
        case .shutdown: "Redis client was shut down"
        }
    }
}
