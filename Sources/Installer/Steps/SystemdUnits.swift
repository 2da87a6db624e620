import Upgrades
/// The two services' unit files. Sandboxed: no privileges to gain, a read-only system,
/// no home directories, a private /tmp, and an empty capability set; writable only
/// where the tenant keeps state.
public enum SystemdUnits {
    public static let plugin = "molecule-memory-plugin.service"
    public static let server = "molecule-tenant.service"
    public static let directory = "/etc/systemd/system"

    static let sandbox = """
        NoNewPrivileges=yes
        ProtectSystem=strict
        ProtectHome=yes
        PrivateTmp=yes
        PrivateDevices=yes
        ProtectKernelTunables=yes
        ProtectKernelModules=yes
        ProtectControlGroups=yes
        RestrictSUIDSGID=yes
        LockPersonality=yes
        ReadWritePaths=/var/lib/molecule-tenant /var/log/molecule-tenant
        CapabilityBoundingSet=
        AmbientCapabilities=
        UMask=0077
        """

    static let environment = """
        EnvironmentFile=/etc/molecule-tenant/tenant.env
        EnvironmentFile=-/etc/molecule-tenant/secrets.env
        """

    public static func pluginUnit(_ inputs: InstallInputs) -> String {
        let after = inputs.externalDatabase ? "network-online.target" : "network-online.target postgresql.service"
        return """
            # Written by molecule-tenant install.
            [Unit]
            Description=Molecule tenant memory plugin
            Documentation=https://github.com/Molecule-AI/molecule-core
            Wants=network-online.target
            After=\(after)

            \(serviceSections(running: "memory-plugin"))
            """
    }

    public static func serverUnit(_ inputs: InstallInputs) -> String {
        let redis = inputs.externalRedis ? "" : " redis-server.service valkey-server.service"
        return """
            # Written by molecule-tenant install.
            [Unit]
            Description=Molecule tenant server
            Documentation=https://github.com/Molecule-AI/molecule-core
            Requires=\(plugin)
            After=\(plugin) network-online.target\(redis)
            Wants=network-online.target

            \(serviceSections(running: "server"))
            """
    }

    /// The [Service] and [Install] sections both units share; only the subcommand differs.
    static func serviceSections(running subcommand: String) -> String {
        """
        [Service]
        # notify: the process says READY=1 once it serves, and on `systemctl reload`
        # (SIGUSR2) hands its socket to the new release and names it with MAINPID=
        # (docs/upgrading.md).
        Type=notify
        NotifyAccess=all
        User=molecule
        Group=molecule
        \(environment)
        ExecStart=/usr/local/bin/molecule-tenant \(subcommand)
        # The reload command sees the env files as they are now: it leaves its environment
        # for the successor (0600, in this unit's own tmpfs directory; read once and removed),
        # so settings written since the start reach the new process without a restart.
        RuntimeDirectory=\(subcommand == "server" ? "molecule-tenant-server" : "molecule-memory-plugin")
        RuntimeDirectoryMode=0700
        ExecReload=/bin/sh -c 'umask 077; env -0 > "$RUNTIME_DIRECTORY/handover.env"; kill -USR2 "$MAINPID"'
        Restart=on-failure
        RestartSec=2
        TimeoutStartSec=120
        TimeoutStopSec=15
        LimitNOFILE=65536
        \(sandbox)

        [Install]
        WantedBy=multi-user.target

        """
    }

    /// The automatic upgrade check (docs/upgrading.md); each run honours AUTO_UPDATE and
    /// UPDATE_WINDOW from the config, so the timer is installed either way.
    public static let updateTimer = AutoUpdateUnits.timerName

    public static func units(_ inputs: InstallInputs) -> [(name: String, text: String)] {
        [(plugin, pluginUnit(inputs)), (server, serverUnit(inputs))]
            + AutoUpdateUnits.files().map { ($0.name, $0.contents) }
    }

    /// Every unit file install writes, for uninstall.
    public static let all = [server, plugin, AutoUpdateUnits.serviceName, AutoUpdateUnits.timerName]
}

/// Writes the unit files, checks them with `systemd-analyze verify` where it exists, and
/// reloads systemd.
public struct UnitsStep: InstallStep {
    public let name = "units"
    public let title = "Install the systemd units"

    public init() {}

    public func check(_ context: InstallContext) async throws(InstallError) -> StepCheck {
        var changes: [Change] = []
        for (unit, text) in SystemdUnits.units(context.inputs) {
            let path = "\(SystemdUnits.directory)/\(unit)"
            let current = context.files.read(path)
            if current != text { changes.append(Change("write \(path)", detail: TextDiff.render(path: path, old: current, new: text))) }
        }
        if !changes.isEmpty { context.markServicesStale() }
        return StepCheck(changes: changes)
    }

    public func apply(_ context: InstallContext, _ check: StepCheck) async throws(InstallError) {
        var paths: [String] = []
        for (unit, text) in SystemdUnits.units(context.inputs) {
            let path = "\(SystemdUnits.directory)/\(unit)"
            try context.write(path, text, mode: 0o644)
            paths.append(path)
        }
        context.systemctl("daemon-reload")
        if context.run(HostCommand(["sh", "-c", "command -v systemd-analyze"])).succeeded {
            let verify = context.run(HostCommand(["systemd-analyze", "verify"] + paths, timeoutSeconds: 60))
            if !verify.succeeded {
                throw .command("systemd-analyze verify of the units", status: verify.status, output: verify.output)
            }
        }
        context.markServicesStale()
    }
}
