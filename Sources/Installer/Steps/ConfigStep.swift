import TenantConfig
import TenantCrypto

/// /etc/molecule-tenant/tenant.env (settings, 0640 root:molecule) and secrets.env
/// (0600 root:molecule, read by systemd for the services). Secrets are generated once
/// from the CSPRNG and never regenerated; keys this installer does not manage (added by
/// hand or by `config sync`) are kept as they are.
public struct ConfigStep: InstallStep {
    public let name = "config"
    public let title = "Write configuration and secrets"

    public static let tenantEnvPath = "/etc/molecule-tenant/tenant.env"
    public static let secretsEnvPath = "/etc/molecule-tenant/secrets.env"

    static let header = "# Written by molecule-tenant install. Keys it manages are rewritten on each install;\n# other keys are kept. Secrets live in secrets.env.\n"
    static let secretsHeader = "# Written by molecule-tenant install: generated once, never regenerated. Mode 0600.\n"

    public init() {}

    /// The settings this install manages; nil removes a key.
    static func managedSettings(_ context: InstallContext) -> [(String, String?)] {
        let inputs = context.inputs
        return [
            ("DATABASE_URL", inputs.externalDatabase ? nil : TenantDefaults.values["DATABASE_URL"]),
            ("REDIS_URL", inputs.externalRedis ? nil : "redis://127.0.0.1:6379/0"),
            ("PORT", String(inputs.port)),
            ("BIND_ADDR", inputs.bindAddress),
            ("MEMORY_PLUGIN_URL", "http://127.0.0.1:9100"),
            ("MEMORY_PLUGIN_LISTEN_ADDR", "127.0.0.1:9100"),
            ("LOG_FORMAT", "json"),
            ("TENANT_PUBLIC_URL", inputs.publicURL),
            ("MOLECULE_ORG_ID", inputs.orgID),
            ("MOLECULE_PLATFORM_URL", inputs.platformURL),
            ("MOLECULE_CP_URL", inputs.platformURL),
        ]
    }

    /// Secrets: those given (external URLs) replace, generated ones are made only when absent.
    static func managedSecrets(_ context: InstallContext) -> [(String, SecretSource)] {
        var secrets: [(String, SecretSource)] = [
            ("ADMIN_TOKEN", .generate { Base64.encodeURLSafe(SecureRandom.bytes(32)) }),
            ("SECRETS_ENCRYPTION_KEY", .generate { Base64.encode(SecureRandom.bytes(32)) }),
        ]
        if let url = context.secrets.databaseURL { secrets.append(("DATABASE_URL", .given(url))) }
        if let url = context.secrets.redisURL {
            secrets.append(("REDIS_URL", .given(url)))
        } else if !context.inputs.externalRedis {
            secrets.append(("REDIS_PASSWORD", .generate { Hex.encode(SecureRandom.bytes(24)) }))
        }
        return secrets
    }

    enum SecretSource {
        case given(String)
        case generate(() -> String)
    }

    /// Both files as they should be, given what is on disk now.
    func render(_ context: InstallContext) throws(InstallError) -> (tenant: String, secrets: String) {
        let currentTenant = try Self.entries(context.files, Self.tenantEnvPath)
        var tenant = currentTenant
        for (key, value) in Self.managedSettings(context) {
            Self.set(&tenant, key, value)
        }
        var secrets = try Self.entries(context.files, Self.secretsEnvPath)
        for (key, source) in Self.managedSecrets(context) {
            switch source {
            case .given(let value): Self.set(&secrets, key, value)
            case .generate(let make): if !secrets.contains(where: { $0.key == key }) { Self.set(&secrets, key, make()) }
            }
        }
        return (Self.header + EnvFile.render(tenant), Self.secretsHeader + EnvFile.render(secrets))
    }

    static func entries(_ files: HostFiles, _ path: String) throws(InstallError) -> [(key: String, value: String)] {
        guard let text = files.read(path) else { return [] }
        do {
            return try EnvFile.parse(text, path: path)
        } catch {
            throw .message("\(error.description): fix or remove the line, then run install again")
        }
    }

    static func set(_ entries: inout [(key: String, value: String)], _ key: String, _ value: String?) {
        if let index = entries.firstIndex(where: { $0.key == key }) {
            if let value { entries[index].value = value } else { entries.remove(at: index) }
        } else if let value {
            entries.append((key, value))
        }
    }

    public func check(_ context: InstallContext) async throws(InstallError) -> StepCheck {
        let (tenant, secrets) = try render(context)
        var changes: [Change] = []
        let group = Accounts(context.files).gid(SystemUserStep.user)
        let currentTenant = context.files.read(Self.tenantEnvPath)
        if currentTenant != tenant || !Self.hasAttributes(context.files, Self.tenantEnvPath, mode: 0o640, gid: group) {
            changes.append(Change("write \(Self.tenantEnvPath)", detail: TextDiff.render(path: Self.tenantEnvPath, old: currentTenant, new: tenant)))
        }
        let currentSecrets = context.files.read(Self.secretsEnvPath)
        // render() keeps every existing value and generates only missing keys, so the text
        // is unchanged exactly when nothing is missing.
        if currentSecrets != secrets || !Self.hasAttributes(context.files, Self.secretsEnvPath, mode: 0o600, gid: group) {
            changes.append(Change("write \(Self.secretsEnvPath) (mode 0600)",
                                  detail: TextDiff.render(path: Self.secretsEnvPath, old: currentSecrets, new: secrets, mask: TextDiff.maskEnvValues)))
        }
        if !changes.isEmpty { context.markServicesStale() }
        return StepCheck(changes: changes)
    }

    static func hasAttributes(_ files: HostFiles, _ path: String, mode: UInt32, gid: UInt32?) -> Bool {
        guard let attributes = files.attributes(path) else { return false }
        return attributes.mode == mode && attributes.uid == 0 && (gid == nil || attributes.gid == gid)
    }

    public func apply(_ context: InstallContext, _ check: StepCheck) async throws(InstallError) {
        let (tenant, secrets) = try render(context)
        let group = Accounts(context.files).gid(SystemUserStep.user) ?? 0
        try context.write(Self.tenantEnvPath, tenant, mode: 0o640, gid: group)
        try context.write(Self.secretsEnvPath, secrets, mode: 0o600, gid: group)
        Self.registerSecrets(context.files, log: context.log)
        context.markServicesStale()
    }

    /// Tells the log every secret value in secrets.env, so none can appear in it.
    public static func registerSecrets(_ files: HostFiles, log: InstallLog) {
        for (key, value) in (try? entries(files, secretsEnvPath)) ?? [] {
            log.addSecret(value)
            if TenantDefaults.urlKeys.contains(key), let password = URLPassword.extract(from: value) { log.addSecret(password) }
        }
    }

    /// One value from secrets.env (after this step has run).
    public static func secret(_ files: HostFiles, _ key: String) -> String? {
        ((try? entries(files, secretsEnvPath)) ?? []).last(where: { $0.key == key })?.value
    }
}
