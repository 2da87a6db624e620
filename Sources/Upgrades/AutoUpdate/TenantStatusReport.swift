/// What `upgrade --auto` tells the platform after every run (`POST {platform}/cp/tenants/status`),
/// so a rollout is visible tenant by tenant: the version serving, whether it is healthy, and
/// how the last upgrade on this host ended.
public struct TenantStatusReport: Codable, Sendable, Equatable {
    /// The release the symlink names (what the services run once no upgrade is under way).
    public var version: String?
    /// "ok" (server and plugin healthy), "degraded" (the server answers, not everything is
    /// healthy) or "down" (the server does not answer).
    public var health: String
    public var lastUpgrade: UpgradeLedger.Entry?

    enum CodingKeys: String, CodingKey {
        case version, health
        case lastUpgrade = "last_upgrade"
    }

    public init(version: String?, health: String, lastUpgrade: UpgradeLedger.Entry?) {
        self.version = version
        self.health = health
        self.lastUpgrade = lastUpgrade
    }

    /// Asks both services on loopback.
    public static func health(_ config: InstalledConfig) -> String {
        guard let server = config.serverProbe.read() else { return "down" }
        return server.healthy && config.pluginProbe.read()?.healthy == true ? "ok" : "degraded"
    }

    // `last_upgrade` is null, not absent, when there was none: the platform sees the key.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encode(health, forKey: .health)
        try container.encode(lastUpgrade, forKey: .lastUpgrade)
    }
}
