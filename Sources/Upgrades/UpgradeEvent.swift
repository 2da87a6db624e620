/// One step of an upgrade, for the terminal or as an NDJSON line (`--json`).
public struct UpgradeEvent: Encodable, Sendable {
    public let event: String
    public let message: String
    public let version: String?
    public let service: String?

    public init(_ event: String, _ message: String, version: String? = nil, service: String? = nil) {
        self.event = event
        self.message = message
        self.version = version
        self.service = service
    }
}

/// Why an upgrade stopped; `exitCode` follows DESIGN section 2.
public struct UpgradeFailure: Error, CustomStringConvertible {
    public let description: String
    /// True when the host was changed and then put back (the version is now rejected here).
    public let rolledBack: Bool
    /// The host, not the release, stopped it (a service could not be asked to hand over):
    /// the release is not rejected for it.
    public let hostProblem: Bool

    public init(_ description: String, rolledBack: Bool = false, hostProblem: Bool = false) {
        self.description = description
        self.rolledBack = rolledBack
        self.hostProblem = hostProblem
    }
}
