import TenantConfig

/// Applies a platform's config reply to tenant.env and secrets.env: new and changed keys
/// only, never the keys the installer manages (a platform must not move the database or
/// the ports), never an invalid name.
public enum ConfigApplier {
    public static let protectedKeys: Set<String> = [
        "DATABASE_URL", "REDIS_URL", "PORT", "BIND_ADDR", "MEMORY_PLUGIN_URL", "MEMORY_PLUGIN_LISTEN_ADDR",
        "MOLECULE_ORG_ID", "MOLECULE_PLATFORM_URL", "MOLECULE_CP_URL", "MOLECULE_CP_SHARED_SECRET",
        "MEMORY_PLUGIN_DATABASE_URL",
    ]

    public struct Outcome: Sendable {
        public var changedSettings: [String] = []
        public var changedSecrets: [String] = []
        public var ignored: [String] = []
        public var changed: [String] { changedSettings + changedSecrets }
        /// The plugin reads only its own variables (and the database's).
        public var pluginAffected: Bool { changed.contains { $0.hasPrefix("MEMORY_PLUGIN_") || $0.hasPrefix("LOG_") } }
    }

    /// What would change (nothing is written).
    public static func diff(_ files: HostFiles, _ reply: PlatformClient.ConfigReply) throws(InstallError) -> Outcome {
        var outcome = Outcome()
        let settings = try ConfigStep.entries(files, ConfigStep.tenantEnvPath)
        let secrets = try ConfigStep.entries(files, ConfigStep.secretsEnvPath)
        for (key, value) in (reply.config ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard EnvFileName.isValid(key), !protectedKeys.contains(key), !TenantDefaults.secretKeys.contains(key) else { outcome.ignored.append(key); continue }
            if settings.last(where: { $0.key == key })?.value != value { outcome.changedSettings.append(key) }
        }
        for (key, value) in (reply.secrets ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard EnvFileName.isValid(key), !protectedKeys.contains(key) else { outcome.ignored.append(key); continue }
            if secrets.last(where: { $0.key == key })?.value != value { outcome.changedSecrets.append(key) }
        }
        return outcome
    }

    /// Writes the changed keys; returns what changed.
    public static func apply(_ context: InstallContext, _ reply: PlatformClient.ConfigReply) throws(InstallError) -> Outcome {
        let outcome = try diff(context.files, reply)
        for value in (reply.secrets ?? [:]).values { context.log.addSecret(value) }
        let group = Accounts(context.files).gid(SystemUserStep.user) ?? 0
        if !outcome.changedSettings.isEmpty {
            var entries = try ConfigStep.entries(context.files, ConfigStep.tenantEnvPath)
            for key in outcome.changedSettings { ConfigStep.set(&entries, key, reply.config?[key]) }
            try context.write(ConfigStep.tenantEnvPath, ConfigStep.header + EnvFile.render(entries), mode: 0o640, gid: group)
        }
        if !outcome.changedSecrets.isEmpty {
            var entries = try ConfigStep.entries(context.files, ConfigStep.secretsEnvPath)
            for key in outcome.changedSecrets { ConfigStep.set(&entries, key, reply.secrets?[key]) }
            try context.write(ConfigStep.secretsEnvPath, ConfigStep.secretsHeader + EnvFile.render(entries), mode: 0o600, gid: group)
        }
        return outcome
    }
}

/// Environment variable names as env files allow them.
enum EnvFileName {
    static func isValid(_ name: String) -> Bool {
        guard let first = name.utf8.first, first == UInt8(ascii: "_") || (first >= 65 && first <= 90) || (first >= 97 && first <= 122) else { return false }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) }
    }
}
