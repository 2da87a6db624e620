/// Applies the server's and the plugin's migrations with the installed binary, as the
/// `molecule` user (whose role owns the database), before the services start.
public struct MigrationsStep: InstallStep {
    public let name = "migrations"
    public let title = "Apply database migrations"

    public init() {}

    /// The installed binary as user molecule with the install's configuration (systemd's
    /// EnvironmentFile= is not there to read secrets.env for it).
    static func command(_ context: InstallContext, _ arguments: [String]) -> HostCommand {
        HostCommand(["runuser", "-u", SystemUserStep.user, "--", BinaryStep.path] + arguments,
                    environment: ServiceEnvironment.values(context.files), timeoutSeconds: 300)
    }

    public func check(_ context: InstallContext) async throws(InstallError) -> StepCheck {
        let pending = [Change("apply pending migrations (server, memory-plugin)", detail: "molecule-tenant migrate up --target all")]
        guard context.canQueryHost, context.files.exists(BinaryStep.path), Accounts(context.files).uid(SystemUserStep.user) != nil,
              !context.servicesStale else { return StepCheck(changes: pending) }
        let status = HostCommand.run(Self.command(context, ["migrate", "status", "--quiet"]))
        return status.succeeded ? .done : StepCheck(changes: pending)
    }

    public func apply(_ context: InstallContext, _ check: StepCheck) async throws(InstallError) {
        if !context.inputs.externalDatabase { try PostgresService.ensureRunning(context) }
        try context.require("applying migrations", Self.command(context, ["migrate", "up", "--target", "all"]))
    }
}

/// The environment the services get from systemd: tenant.env, then secrets.env.
public enum ServiceEnvironment {
    public static func values(_ files: HostFiles) -> [String: String] {
        var values: [String: String] = [:]
        for path in [ConfigStep.tenantEnvPath, ConfigStep.secretsEnvPath] {
            for (key, value) in (try? ConfigStep.entries(files, path)) ?? [] { values[key] = value }
        }
        return values
    }
}
