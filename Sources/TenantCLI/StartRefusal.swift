import BuildInfo

/// The test-only `+refuse-start` stamp (BuildInfo.refusesToStart): the long-running services
/// exit 1 before they touch anything, as a broken release would.
enum StartRefusal {
    static func check() throws {
        guard BuildInfo.refusesToStart else { return }
        throw CLIFailure("this copy is stamped \(BuildInfo.version): builds tagged +refuse-start never start (a test-only tag)")
    }
}
