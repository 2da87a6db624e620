import BuildInfo
import FoundationEssentials
import Upgrades

/// What `status` reports: versions, units, health, registration, pending migrations, upgrades.
public struct TenantStatus: Encodable, Sendable {
    public struct Unit: Encodable, Sendable {
        public let active: String
        public let enabled: String
    }

    public struct Health: Encodable, Sendable {
        public let plugin: String
        public let server: String
    }

    public struct Registration: Encodable, Sendable {
        public let registered: Bool
        public let orgID: String?
        public let platformURL: String?
        public let tenantURL: String?

        enum CodingKeys: String, CodingKey {
            case registered
            case orgID = "org_id"
            case platformURL = "platform_url"
            case tenantURL = "tenant_url"
        }
    }

    public struct Migrations: Encodable, Sendable {
        public let pending: Int?
        public let detail: String?
    }

    /// From /var/lib/molecule-tenant/upgrades.json: how upgrades on this host ended.
    public struct Upgrades: Encodable, Sendable {
        /// The release the last successful upgrade (or rollback) moved to.
        public let current: String?
        /// Releases that failed their health gate here; the timer never tries them again.
        public let rejected: [String]
        public let lastUpgrade: UpgradeLedger.Entry?
        public let lastAutoUpdate: UpgradeLedger.AutoRun?
        /// Why upgrades.json could not be read, when it could not.
        public let detail: String?

        enum CodingKeys: String, CodingKey {
            case current, rejected, detail
            case lastUpgrade = "last_upgrade"
            case lastAutoUpdate = "last_auto_update"
        }

        static func read(_ files: HostFiles) -> Upgrades {
            do {
                let ledger = try UpgradeLedger.load(files.path(HostLayout().upgradesFile))
                return Upgrades(current: ledger.current, rejected: ledger.rejected, lastUpgrade: ledger.lastUpgrade,
                                lastAutoUpdate: ledger.lastAutoUpdate, detail: nil)
            } catch {
                return Upgrades(current: nil, rejected: [], lastUpgrade: nil, lastAutoUpdate: nil, detail: "\(error)")
            }
        }
    }

    public let installed: Bool
    public let version: String
    public let installedVersion: String?
    public let units: [String: Unit]
    public let health: Health
    public let healthy: Bool
    public let registration: Registration
    public let migrations: Migrations
    public let upgrades: Upgrades

    enum CodingKeys: String, CodingKey {
        case installed, version, units, health, healthy, registration, migrations, upgrades
        case installedVersion = "installed_version"
    }

    public static let watchedUnits = [SystemdUnits.plugin, SystemdUnits.server, "postgresql.service", "redis-server.service"]

    public static func collect(_ files: HostFiles) -> TenantStatus {
        let inputs = InstallInputs.load(files)
        var units: [String: Unit] = [:]
        for unit in watchedUnits {
            if unit == "redis-server.service", RedisStep.flavor(files).unit != unit { continue }
            let active = HostCommand(["systemctl", "is-active", unit], timeoutSeconds: 10).run().output.trimmingNewlines()
            let enabled = HostCommand(["systemctl", "is-enabled", unit], timeoutSeconds: 10).run().output.trimmingNewlines()
            units[unit] = Unit(active: active.isEmpty ? "unknown" : active, enabled: enabled.isEmpty ? "unknown" : enabled)
        }
        let port = inputs?.port ?? 8080
        let plugin = HealthGate.probe("http://127.0.0.1:9100/v1/health")
        let server = HealthGate.probe("http://127.0.0.1:\(port)/health")
        let installedVersion = files.exists(BinaryStep.path)
            ? HostCommand([BinaryStep.path, "--version"], timeoutSeconds: 10).run().output.trimmingNewlines() : nil
        let record = RegistrationStep.Record.load(files)
        return TenantStatus(
            installed: inputs != nil,
            version: BuildInfo.summary,
            installedVersion: installedVersion,
            units: units,
            health: Health(plugin: plugin, server: server),
            healthy: plugin == "ok" && server == "ok",
            registration: Registration(registered: record != nil, orgID: record?.orgID ?? inputs?.orgID,
                                       platformURL: record?.platformURL ?? inputs?.platformURL, tenantURL: record?.tenantURL),
            migrations: pendingMigrations(files),
            upgrades: Upgrades.read(files)
        )
    }

    struct MigrationRow: Decodable { let state: String }

    static func pendingMigrations(_ files: HostFiles) -> Migrations {
        guard files.exists(BinaryStep.path), Accounts(files).uid(SystemUserStep.user) != nil else {
            return Migrations(pending: nil, detail: "not installed")
        }
        let outcome = HostCommand(["runuser", "-u", SystemUserStep.user, "--", BinaryStep.path, "migrate", "status", "--json"],
                                  environment: ServiceEnvironment.values(files), timeoutSeconds: 60).run()
        let json = outcome.output.split(separator: "\n").last(where: { $0.hasPrefix("[") }).map(String.init) ?? ""
        guard let rows = try? JSONDecoder().decode([MigrationRow].self, from: Data(json.utf8)) else {
            return Migrations(pending: nil, detail: "cannot read the migration ledger (is PostgreSQL running?)")
        }
        return Migrations(pending: rows.filter { $0.state != "applied" }.count, detail: nil)
    }
}
