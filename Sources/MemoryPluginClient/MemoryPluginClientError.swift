import MemoryContract

/// Why a call to the memory plugin failed. Messages name the route and the cause, never
/// the body of a request (memory content may hold anything).
public enum MemoryPluginClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The plugin cannot serve the call: unreachable, timed out, circuit breaker open,
    /// or it answered 503. Surfaces answer 503 `unavailable`.
    case unavailable(String)
    /// The plugin refused the request with a 4xx contract error (its `status` is the
    /// HTTP status, e.g. 409 for a conflict).
    case rejected(ContractError)
    /// The plugin failed with a 5xx other than 503 (its contract error, status kept).
    case pluginFailure(ContractError)
    /// The peer does not speak the contract: an unparsable or oversized answer, or an
    /// unexpected status.
    case protocolViolation(String)
    /// The client configuration is unusable (e.g. a `MEMORY_PLUGIN_URL` that is not
    /// `http://host:port`).
    case invalidConfiguration(String)

    public var description: String {
        switch self {
        case .unavailable(let message): "memory plugin unavailable: \(message)"
        case .rejected(let error): "memory plugin rejected the request (\(error.status)): \(error)"
        case .pluginFailure(let error): "memory plugin failed (\(error.status)): \(error)"
        case .protocolViolation(let message): "memory plugin protocol violation: \(message)"
        case .invalidConfiguration(let message): message
        }
    }

    /// The contract error a surface should answer with: rejections and plugin failures
    /// pass through, everything else is 503 `unavailable`.
    public var contractError: ContractError {
        switch self {
        case .rejected(let error), .pluginFailure(let error): error
        case .unavailable, .protocolViolation, .invalidConfiguration: .unavailable("memory plugin unavailable; retry later")
        }
    }
}
