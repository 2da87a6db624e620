/// One change a step would make, for the plan and the report. `detail` is a masked diff
/// or the command that would run; it never holds a secret.
public struct Change: Sendable, Equatable, Encodable {
    public let summary: String
    public let detail: String?

    public init(_ summary: String, detail: String? = nil) {
        self.summary = summary
        self.detail = detail
    }
}

/// What a step found: what it would change (nothing when done) and what it measured.
public struct StepCheck: Sendable {
    public var changes: [Change]
    public var notes: [String]

    public init(changes: [Change] = [], notes: [String] = []) {
        self.changes = changes
        self.notes = notes
    }

    public static let done = StepCheck()
}

/// A unit of the install (DESIGN section 7): `check` says whether it is already done and
/// what would change otherwise; `apply` makes it so. Both are safe to repeat, so a run
/// killed anywhere converges on the next one, and a second run changes nothing.
public protocol InstallStep: Sendable {
    /// Short stable name, used in NDJSON events and the log ("packages", "config").
    var name: String { get }
    /// What the step does, for people.
    var title: String { get }
    func check(_ context: InstallContext) async throws(InstallError) -> StepCheck
    func apply(_ context: InstallContext, _ check: StepCheck) async throws(InstallError)
}
