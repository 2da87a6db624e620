/// Some hosts cannot create user namespaces (container-based VPSs, the fresh-host lab).
/// Debian's redis-server.service sets PrivateUsers=true and then fails with 217/USER, so
/// on such a host a drop-in turns that one setting off for Redis and Valkey. It is written
/// before the packages, so their first start already works. Our own units do not use
/// PrivateUsers.
public struct SandboxCompatibilityStep: InstallStep {
    public let name = "sandbox-compat"
    public let title = "Let Redis start on a host without user namespaces"

    static let units = ["redis-server.service", "valkey-server.service"]
    static let dropIn = """
        # Written by molecule-tenant install: this host cannot create user namespaces, so
        # PrivateUsers=true would stop the service with status 217/USER.
        [Service]
        PrivateUsers=false

        """

    public init() {}

    static func path(_ unit: String) -> String { "/etc/systemd/system/\(unit).d/10-molecule-no-userns.conf" }

    /// Whether this host can create user namespaces (false where PrivateUsers fails).
    public static func userNamespacesWork(_ context: InstallContext) -> Bool {
        if context.files.read("/proc/sys/user/max_user_namespaces")?.hasPrefix("0") == true { return false }
        guard context.canQueryHost else { return true }
        return HostCommand(["unshare", "--user", "true"], timeoutSeconds: 10).run().succeeded
    }

    public func check(_ context: InstallContext) async throws(InstallError) -> StepCheck {
        guard !context.inputs.externalRedis, !Self.userNamespacesWork(context) else { return .done }
        let missing = Self.units.filter { context.files.read(Self.path($0)) != Self.dropIn }
        guard !missing.isEmpty else {
            return StepCheck(notes: ["no user namespaces on this host: Redis runs with PrivateUsers=false"])
        }
        return StepCheck(
            changes: missing.map { Change("write \(Self.path($0))", detail: "PrivateUsers=false (this host cannot create user namespaces)") },
            notes: ["no user namespaces on this host: Redis runs with PrivateUsers=false"]
        )
    }

    public func apply(_ context: InstallContext, _ check: StepCheck) async throws(InstallError) {
        for unit in Self.units {
            try context.files.makeDirectory("/etc/systemd/system/\(unit).d", mode: 0o755)
            try context.write(Self.path(unit), Self.dropIn, mode: 0o644)
        }
        context.systemctl("daemon-reload")
    }
}
