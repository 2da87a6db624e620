import CBuildInfo

/// What this binary is: the stamped version, the git commit it was built from and when.
public enum BuildInfo {
    /// The version stamped into the binary's marker (see `CBuildInfo/marker.c`).
    public static var version: String {
        String(cString: molecule_build_version())
    }

    /// Short git commit of the checkout that was built, or "unknown" outside git.
    public static let commit: String = BuildStamp.commit

    /// UTC build date (ISO 8601) of the first build at this commit.
    public static let buildDate: String = BuildStamp.date

    /// TEST ONLY: a copy stamped with the build tag `refuse-start` (e.g. `1.0.2+refuse-start`)
    /// refuses to run `server` and `memory-plugin`, so upgrade tests can make, from the one
    /// build they have, a release that never becomes healthy. No real release carries it.
    public static var refusesToStart: Bool { buildTags.contains("refuse-start") }

    /// TEST ONLY: the build tag `refuse-server-start` makes only `server` refuse to run, so
    /// the memory plugin is handed over to the release before its gate fails and has to be
    /// handed back.
    public static var serverRefusesToStart: Bool { refusesToStart || buildTags.contains("refuse-server-start") }

    /// The dot-separated identifiers after `+` in the version.
    private static var buildTags: [Substring] {
        let parts = version.split(separator: "+", maxSplits: 1)
        return parts.count == 2 ? parts[1].split(separator: ".") : []
    }

    /// One line for `--version`.
    public static var summary: String {
        "molecule-tenant \(version) (commit \(commit), built \(buildDate))"
    }
}
