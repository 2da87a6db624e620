/// The binary's runtime libraries, PostgreSQL with pgvector (the release's own packages,
/// or the PostgreSQL project's repository set up with the script and key Debian's
/// postgresql-common ships) and Redis, through apt.
public struct PackagesStep: InstallStep {
    public let name = "packages"
    public let title = "Install packages"

    /// Packages this installer installed, so `uninstall --purge` removes exactly those.
    public static let recordPath = "/var/lib/molecule-tenant/installed-packages"

    public init() {}

    /// Every package this host needs, in install order.
    public static func wanted(_ platform: Platform, _ inputs: InstallInputs, _ packages: DpkgStatus) -> [String] {
        // curl: `upgrade` and the update timer fetch releases over http(s) with it (ReleaseFetcher).
        var wanted = ["libpq5", platform.libarchivePackage, "ca-certificates", "curl"]
        if !inputs.externalDatabase { wanted += platform.postgresPackages }
        // A host that already has Valkey keeps it; otherwise Redis.
        if !inputs.externalRedis { wanted.append(packages.isInstalled("valkey-server") ? "valkey-server" : "redis-server") }
        return wanted
    }

    static func needsProjectRepository(_ context: InstallContext) -> Bool {
        guard !context.inputs.externalDatabase, context.platform.postgresSource == .projectRepository else { return false }
        return !context.files.exists("/etc/apt/sources.list.d/pgdg.sources") && !context.files.exists("/etc/apt/sources.list.d/pgdg.list")
    }

    public func check(_ context: InstallContext) async throws(InstallError) -> StepCheck {
        let packages = DpkgStatus.read(context.files)
        var changes: [Change] = []
        if !packages.interrupted.isEmpty {
            changes.append(Change("finish the interrupted dpkg run", detail: "dpkg --configure -a (\(packages.interrupted.joined(separator: ", ")))"))
        }
        if Self.needsProjectRepository(context) {
            changes.append(Change(
                "add the PostgreSQL project's apt repository (\(context.platform.name) has no pgvector package)",
                detail: "apt-get install postgresql-common; its pgdg script adds the repository with the key it ships"
            ))
        }
        let missing = Self.wanted(context.platform, context.inputs, packages).filter { !packages.isInstalled($0) }
        if !missing.isEmpty {
            changes.append(Change("install \(missing.joined(separator: ", "))", detail: "apt-get install --no-install-recommends \(missing.joined(separator: " "))"))
        }
        return StepCheck(changes: changes)
    }

    static let aptOptions = [
        "-y", "-q", "--no-install-recommends",
        "-o", "DPkg::Lock::Timeout=300",
        "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
    ]

    public func apply(_ context: InstallContext, _ check: StepCheck) async throws(InstallError) {
        guard await DpkgLock.waitUntilFree(context.files, seconds: 300, log: context.log) else {
            throw .message("dpkg has been busy for 5 minutes (another apt or unattended-upgrades run): wait for it to finish, then run install again")
        }
        if !DpkgStatus.read(context.files).interrupted.isEmpty {
            try context.require("finishing the interrupted dpkg run", HostCommand(["dpkg", "--configure", "-a"]))
        }
        if Self.needsProjectRepository(context) {
            try context.require("apt-get update", HostCommand(["apt-get", "update", "-q", "-o", "DPkg::Lock::Timeout=300"]))
            try context.require("installing postgresql-common", HostCommand(["apt-get", "install"] + Self.aptOptions + ["postgresql-common", "gnupg"]))
            try setUpProjectRepository(context)
        }
        let packages = DpkgStatus.read(context.files)
        let missing = Self.wanted(context.platform, context.inputs, packages).filter { !packages.isInstalled($0) }
        guard !missing.isEmpty else { return }
        // Recorded before installing, so a run killed during apt still lets purge find them.
        var recorded = Set((context.files.read(Self.recordPath) ?? "").split(separator: "\n").map(String.init))
        // Common tools the host may come to rely on stay on purge.
        recorded.formUnion(missing.filter { !$0.hasPrefix("lib") && $0 != "ca-certificates" && $0 != "curl" })
        try context.files.makeDirectory("/var/lib/molecule-tenant", mode: 0o750)
        try context.files.write(Self.recordPath, recorded.sorted().joined(separator: "\n") + "\n", mode: 0o644)

        try context.require("apt-get update", HostCommand(["apt-get", "update", "-q", "-o", "DPkg::Lock::Timeout=300"]))
        try context.require("installing \(missing.joined(separator: ", "))", HostCommand(["apt-get", "install"] + Self.aptOptions + missing, timeoutSeconds: 1200))
    }

    /// postgresql-common ships the PostgreSQL project's repository script and signing key
    /// under /usr/share/postgresql-common/pgdg/; `-y` makes it non-interactive.
    func setUpProjectRepository(_ context: InstallContext) throws(InstallError) {
        let directory = "/usr/share/postgresql-common/pgdg"
        let listing = context.run(HostCommand(["sh", "-c", "ls \(directory)/*.sh"]))
        guard listing.succeeded, let script = listing.output.split(separator: "\n").first.map(String.init) else {
            throw .message("postgresql-common has no repository script under \(directory): install PostgreSQL \(context.platform.postgresMajor) with pgvector yourself and re-run with --database-url")
        }
        try context.require("setting up the PostgreSQL project's repository", HostCommand(["sh", script, "-y"], timeoutSeconds: 300))
    }
}
