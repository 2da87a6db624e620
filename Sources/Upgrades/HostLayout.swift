/// Where an installed tenant keeps its releases, state and config (DESIGN sections 7, 12),
/// all under an optional root prefix so the whole upgrade runs in a test directory.
public struct HostLayout: Sendable {
    /// "" on a real host; a directory in tests (`MOLECULE_TENANT_ROOT`).
    public let root: String

    public init(root: String = "") {
        self.root = root.hasSuffix("/") ? String(root.dropLast()) : root
    }

    public var releases: String { root + "/opt/molecule-tenant/releases" }
    public func releaseDirectory(_ version: String) -> String { releases + "/" + version }
    public func releaseBinary(_ version: String) -> String { releaseDirectory(version) + "/molecule-tenant" }
    /// The symlink the units run: it names the current release.
    public var binaryLink: String { root + "/usr/local/bin/molecule-tenant" }
    public var state: String { root + "/var/lib/molecule-tenant" }
    public var upgradesFile: String { state + "/upgrades.json" }
    public var downloads: String { state + "/downloads" }
    public var config: String { root + "/etc/molecule-tenant" }
    public var configFiles: [String] { [config + "/tenant.env", config + "/secrets.env"] }
    public var trustedKeys: String { config + "/trusted-keys" }
    /// Pid files, used instead of systemd when a root prefix is set.
    public var run: String { root + "/run/molecule-tenant" }

    /// A real host is driven through systemd; a prefixed root through pid files.
    public var usesSystemd: Bool { root.isEmpty }
}
