import Upgrades

/// `config sync`: fetches the platform's config for this tenant, writes new values to
/// tenant.env and secrets.env, hands the services that read them over to fresh processes
/// (or restarts units from an older install), and gates on health; a tenant that does not
/// come up healthy gets its old files back.
public struct ConfigSync: Sendable {
    public let context: InstallContext

    public init(context: InstallContext) {
        self.context = context
    }

    public struct Result: Sendable {
        public let changed: [String]
        public let ignored: [String]
        public let restarted: [String]
        public let targetVersion: String?
        /// The services took the new values by handing over (no downtime), not by a restart.
        public var handedOver = false
    }

    /// Whether `systemctl reload` of `unit` gives the successor the env files as they are
    /// now (units written since the reload command leaves them in `RuntimeDirectory=`).
    static func reloadPassesFreshEnvironment(_ files: HostFiles, unit: String) -> Bool {
        guard let text = files.read(SystemdUnits.directory + "/" + unit) else { return false }
        return text.contains("RuntimeDirectory=") && text.contains("handover.env")
    }

    /// New values reach the running services by a handover to a fresh process of the same
    /// release, gated on health; if one does not come up, the previous files come back and
    /// both services restart on them.
    private func handOver(_ units: [String], healthWait: Double) async throws(InstallError) {
        let log = context.log
        var settings = Upgrader.Settings(releaseURL: nil)
        settings.gateTimeout = .seconds(max(1, Int(healthWait)))
        let upgrader = Upgrader(layout: context.files.layout, control: SystemdControl(), settings: settings,
                                emit: { event in if !event.transient { log.line("\(event.event): \(event.message)") } })
        let services: [TenantService] = units.contains(SystemdUnits.plugin) ? [.memoryPlugin, .server] : [.server]
        do {
            try await upgrader.reloadInPlace(services)
        } catch {
            restoreAndRestart(units)
            throw .message("the services did not take the new config (\(error)); the previous files are back and the services restarted on them")
        }
    }

    /// The previous env files back, and `units` restarted on them.
    private func restoreAndRestart(_ units: [String]) {
        context.journal.restore(context.files)
        for unit in units { context.systemctl("restart", unit) }
    }

    /// - Parameter restart: restart units that cannot take new values by a handover (from an
    ///   older install); false leaves their values for the next upgrade.
    public func run(healthWait: Double, restart: Bool = true) async throws(InstallError) -> Result {
        let (reply, outcome) = try fetchAndWrite()
        guard !outcome.changed.isEmpty else {
            return Result(changed: [], ignored: outcome.ignored, restarted: [], targetVersion: reply.targetVersion)
        }
        let units = outcome.pluginAffected ? [SystemdUnits.plugin, SystemdUnits.server] : [SystemdUnits.server]
        if units.allSatisfy({ Self.reloadPassesFreshEnvironment(context.files, unit: $0) }) {
            try await handOver(units, healthWait: healthWait)
            return Result(changed: outcome.changed, ignored: outcome.ignored, restarted: units, targetVersion: reply.targetVersion, handedOver: true)
        }
        // Units written before the reload command passed the env files on: a restart.
        guard restart else {
            return Result(changed: outcome.changed, ignored: outcome.ignored, restarted: [], targetVersion: reply.targetVersion)
        }
        for unit in units { context.systemctl("restart", unit) }
        let health = await HealthGate.wait(port: InstallInputs.load(context.files)?.port ?? 8080, seconds: healthWait)
        guard health.healthy else {
            restoreAndRestart(units)
            throw .message("the tenant was not healthy with the new config (plugin \(health.plugin), server \(health.server)); the previous files are back")
        }
        return Result(changed: outcome.changed, ignored: outcome.ignored, restarted: units, targetVersion: reply.targetVersion)
    }

    /// The sync `upgrade` runs before its preflight: new values go into the files and
    /// nothing restarts. The upgrade's handover starts the new processes with the files as
    /// they are then (the units' reload command reads them), so a release's new required
    /// setting arrives with the release, without downtime.
    public func writeOnly() throws(InstallError) -> Result {
        let (reply, outcome) = try fetchAndWrite()
        return Result(changed: outcome.changed, ignored: outcome.ignored, restarted: [], targetVersion: reply.targetVersion)
    }

    /// Whether this tenant has a platform to sync with.
    public static func hasPlatform(_ files: HostFiles) -> Bool {
        let environment = ServiceEnvironment.values(files)
        return environment["MOLECULE_PLATFORM_URL"] != nil && environment["MOLECULE_ORG_ID"] != nil
    }

    private func fetchAndWrite() throws(InstallError) -> (PlatformClient.ConfigReply, ConfigApplier.Outcome) {
        let environment = ServiceEnvironment.values(context.files)
        guard let platformURL = environment["MOLECULE_PLATFORM_URL"], let orgID = environment["MOLECULE_ORG_ID"] else {
            throw .message("this tenant has no platform: install with --org-id and --platform-url first")
        }
        guard let secret = environment["MOLECULE_CP_SHARED_SECRET"] else {
            throw .message("MOLECULE_CP_SHARED_SECRET is not in \(ConfigStep.secretsEnvPath): run install with --registration-token-file to register")
        }
        ConfigStep.registerSecrets(context.files, log: context.log)
        let client = try PlatformClient(baseURL: platformURL, orgID: orgID)
        context.log.line("GET \(platformURL)/cp/tenants/config")
        let reply = try client.fetchConfig(sharedSecret: secret)
        let outcome = try ConfigApplier.apply(context, reply)
        context.log.line("changed: \(outcome.changed.joined(separator: ", ")); ignored: \(outcome.ignored.joined(separator: ", "))")
        return (reply, outcome)
    }
}
