/// One step of an upgrade, for the terminal or as an NDJSON line (`--json`).
public struct UpgradeEvent: Encodable, Sendable {
    public let event: String
    public let message: String
    public let version: String?
    public let service: String?
    /// Progress within a step (bytes fetched, seconds waited): shown in place on a
    /// terminal, never logged or printed as NDJSON.
    public let transient: Bool

    public init(_ event: String, _ message: String, version: String? = nil, service: String? = nil) {
        self.event = event
        self.message = message
        self.version = version
        self.service = service
        self.transient = false
    }

    /// A progress line for a terminal.
    public static func progress(_ message: String) -> UpgradeEvent {
        UpgradeEvent(progress: message)
    }

    private init(progress message: String) {
        event = "progress"
        self.message = message
        version = nil
        service = nil
        transient = true
    }

    enum CodingKeys: String, CodingKey {
        case event, message, version, service
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
    /// The release failed its gate and going back failed too: the host needs a person, and
    /// the release is rejected all the same, so the timer does not try it again.
    public let rollbackFailed: Bool

    public init(_ description: String, rolledBack: Bool = false, hostProblem: Bool = false, rollbackFailed: Bool = false) {
        self.description = description
        self.rolledBack = rolledBack
        self.hostProblem = hostProblem
        self.rollbackFailed = rollbackFailed
    }
}
