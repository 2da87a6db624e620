/// Limits of A2A delivery (`A2A_*` variables; defaults suit LLM agents that think for minutes).
public struct A2AConfiguration: Sendable {
    /// `A2A_TIMEOUT_SECONDS` (300): the whole exchange with an agent.
    public var timeout: Duration
    /// `A2A_IDLE_TIMEOUT_SECONDS` (120): silence from an agent that ends the exchange.
    public var idleTimeout: Duration
    /// `A2A_MAX_RESPONSE_BYTES` (16 MiB): the largest reply passed back.
    public var maxResponseBytes: Int
    /// `A2A_QUEUE_DRAIN_INTERVAL_MS` (250): how often queued messages are looked at.
    public var drainInterval: Duration
    /// `A2A_CA_FILE`: PEM CA certificates trusted for https agents in addition to the
    /// system's store (a private CA); nil trusts the system's store alone.
    public var caFile: String?
    /// `DELEGATION_LEASE_SECONDS` (45): a delegation being delivered to a push-mode agent
    /// is renewed every third of this; one whose renewals stopped this long ago (its
    /// server died mid-delivery) is failed, and one cut off before it was sent is resumed.
    public var delegationLease: Duration

    /// Request bodies of `POST /workspaces/:id/a2a` above this are 413 (a named exception to 1 MiB).
    public static let maxRequestBytes = 4 << 20

    public init(timeout: Duration = .seconds(300), idleTimeout: Duration = .seconds(120),
                maxResponseBytes: Int = 16 << 20, drainInterval: Duration = .milliseconds(250), caFile: String? = nil,
                delegationLease: Duration = .seconds(45)) {
        self.timeout = timeout
        self.idleTimeout = idleTimeout
        self.maxResponseBytes = maxResponseBytes
        self.drainInterval = drainInterval
        self.caFile = caFile
        self.delegationLease = delegationLease
    }
}
