/// The systemd units of automatic upgrades, for `install` to write and `uninstall` to remove
/// (DESIGN section 12, docs/upgrading.md): a timer every five minutes, spread over the fleet
/// by a random delay, starting a oneshot `upgrade --auto`. The units are written whatever
/// AUTO_UPDATE says; each run reads AUTO_UPDATE and UPDATE_WINDOW itself, so changing them
/// needs no reinstall.
public enum AutoUpdateUnits {
    public struct UnitFile: Sendable, Equatable {
        /// The file name under /etc/systemd/system/.
        public let name: String
        public let contents: String
    }

    public static let timerName = "molecule-tenant-update.timer"
    public static let serviceName = "molecule-tenant-update.service"

    /// Both units: write them (0644), `systemctl daemon-reload`, then
    /// `systemctl enable --now molecule-tenant-update.timer` (the timer only).
    public static func files(binary: String = "/usr/local/bin/molecule-tenant", configDirectory: String = "/etc/molecule-tenant") -> [UnitFile] {
        [UnitFile(name: timerName, contents: timer), UnitFile(name: serviceName, contents: service(binary: binary, configDirectory: configDirectory))]
    }

    public static let timer = """
        [Unit]
        Description=molecule-tenant automatic upgrade check (every 5 minutes)

        [Timer]
        # Every host fires on the same five-minute marks; the random delay spreads a fleet so a
        # release server or platform never sees every tenant at once.
        OnCalendar=*:0/5
        RandomizedDelaySec=4min
        AccuracySec=30s
        Persistent=false
        Unit=\(serviceName)

        [Install]
        WantedBy=timers.target

        """

    public static func service(binary: String, configDirectory: String) -> String {
        """
        [Unit]
        Description=molecule-tenant automatic upgrade (release channel or the platform's target_version)
        Wants=network-online.target
        After=network-online.target molecule-memory-plugin.service molecule-tenant.service

        [Service]
        Type=oneshot
        # AUTO_UPDATE, UPDATE_WINDOW, MOLECULE_RELEASE_URL, MOLECULE_RELEASE_CHANNEL, and the
        # platform settings come from the tenant's config, as for the services.
        EnvironmentFile=-\(configDirectory)/tenant.env
        EnvironmentFile=-\(configDirectory)/secrets.env
        ExecStart=\(binary) upgrade --auto
        # Root: it unpacks into /opt, moves the /usr/local/bin symlink and reloads the services.
        # No ProtectSystem: that would make those paths read-only.
        NoNewPrivileges=yes
        ProtectHome=yes
        PrivateTmp=yes
        # A download, migrations and two handovers; the health gate alone allows 2 x 120 s.
        TimeoutStartSec=30min
        Nice=5

        """
    }
}
