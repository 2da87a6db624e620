/// A drop-in for the distribution's Redis (or Valkey): loopback only, a password, and
/// keyspace notifications (the server's liveness watcher listens for expiries). The main
/// config file gets one `include` line at its end, so our settings win and the package's
/// file stays otherwise as shipped.
public struct RedisStep: InstallStep {
    public let name = "redis"
    public let title = "Configure Redis"

    struct Flavor {
        let mainConfig: String
        let dropIn: String
        let group: String
        let unit: String
    }

    static func flavor(_ files: HostFiles) -> Flavor {
        if DpkgStatus.read(files).isInstalled("valkey-server") && !DpkgStatus.read(files).isInstalled("redis-server") {
            return Flavor(mainConfig: "/etc/valkey/valkey.conf", dropIn: "/etc/valkey/molecule-tenant.conf", group: "valkey", unit: "valkey-server.service")
        }
        return Flavor(mainConfig: "/etc/redis/redis.conf", dropIn: "/etc/redis/molecule-tenant.conf", group: "redis", unit: "redis-server.service")
    }

    public init() {}

    static func dropIn(password: String) -> String {
        """
        # Written by molecule-tenant install (included from the end of the main config).
        bind 127.0.0.1 -::1
        protected-mode yes
        port 6379
        requirepass \(password)
        notify-keyspace-events KEA

        """
    }

    static func includeLine(_ flavor: Flavor) -> String { "include \(flavor.dropIn)" }

    public func check(_ context: InstallContext) async throws(InstallError) -> StepCheck {
        guard !context.inputs.externalRedis else { return .done }
        let flavor = Self.flavor(context.files)
        let password = ConfigStep.secret(context.files, "REDIS_PASSWORD") ?? "<generated>"
        let wanted = Self.dropIn(password: password)
        let current = context.files.read(flavor.dropIn)
        var changes: [Change] = []
        if current != wanted {
            let mask: (String) -> String = { $0.hasPrefix("requirepass ") ? "requirepass <secret>" : $0 }
            changes.append(Change("write \(flavor.dropIn)", detail: TextDiff.render(path: flavor.dropIn, old: current, new: wanted, mask: mask)))
        }
        let main = context.files.read(flavor.mainConfig) ?? ""
        if !main.split(separator: "\n").contains(Substring(Self.includeLine(flavor))) {
            changes.append(Change("include it from \(flavor.mainConfig)", detail: "+\(Self.includeLine(flavor))"))
        }
        if !changes.isEmpty { changes.append(Change("restart \(flavor.unit)")) }
        return StepCheck(changes: changes)
    }

    public func apply(_ context: InstallContext, _ check: StepCheck) async throws(InstallError) {
        let flavor = Self.flavor(context.files)
        guard let password = ConfigStep.secret(context.files, "REDIS_PASSWORD") else {
            throw .message("REDIS_PASSWORD is missing from \(ConfigStep.secretsEnvPath)")
        }
        let group = Accounts(context.files).gid(flavor.group) ?? 0
        try context.write(flavor.dropIn, Self.dropIn(password: password), mode: 0o640, gid: group)
        guard let main = context.files.read(flavor.mainConfig) else {
            throw .message("\(flavor.mainConfig) is missing: reinstall the Redis package (apt-get install --reinstall redis-server)")
        }
        if !main.split(separator: "\n").contains(Substring(Self.includeLine(flavor))) {
            let attributes = context.files.attributes(flavor.mainConfig)
            let text = (main.hasSuffix("\n") ? main : main + "\n") + Self.includeLine(flavor) + "\n"
            try context.write(flavor.mainConfig, text, mode: attributes?.mode ?? 0o640, uid: attributes?.uid ?? 0, gid: attributes?.gid ?? 0)
        }
        context.systemctl("enable", flavor.unit)
        let restart = context.systemctl("restart", flavor.unit)
        guard restart.succeeded else {
            let journal = context.run(HostCommand(["journalctl", "-u", flavor.unit, "-n", "20", "--no-pager"]))
            throw .command("restarting \(flavor.unit)", status: restart.status, output: context.log.redact(restart.output + journal.output))
        }
    }
}
