import BuildInfo

/// The test-only stamps `+refuse-start` (both long-running services) and
/// `+refuse-server-start` (the server only): the service exits 1 before it touches
/// anything, as a broken release would.
enum StartRefusal {
    static func check(server: Bool) throws {
        guard server ? BuildInfo.serverRefusesToStart : BuildInfo.refusesToStart else { return }
        throw CLIFailure("this copy is stamped \(BuildInfo.version): its test-only build tag keeps the \(server ? "server" : "memory plugin") from starting")
    }
}
