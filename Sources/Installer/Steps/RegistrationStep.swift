#if canImport(Glibc)
import Glibc
#endif
import FoundationEssentials
import TenantConfig

/// Registers the tenant with its platform when `--org-id` and `--platform-url` are given
/// (docs/platform-protocol.md), stores the shared secret it returns in secrets.env, and
/// applies the platform's config once. Idempotent: a tenant registered with the same
/// platform, org and URL (recorded in /var/lib/molecule-tenant/registration.json) is
/// not registered again.
public struct RegistrationStep: InstallStep {
    public let name = "registration"
    public let title = "Register with the platform"

    public static let recordPath = "/var/lib/molecule-tenant/registration.json"

    public struct Record: Codable, Sendable, Equatable {
        public var orgID: String
        public var platformURL: String
        public var tenantURL: String
        public var tenantID: String?

        enum CodingKeys: String, CodingKey {
            case orgID = "org_id"
            case platformURL = "platform_url"
            case tenantURL = "tenant_url"
            case tenantID = "tenant_id"
        }

        public static func load(_ files: HostFiles) -> Record? {
            guard let text = files.read(recordPath) else { return nil }
            return try? JSONDecoder().decode(Record.self, from: Data(text.utf8))
        }
    }

    public init() {}

    /// The URL agents and the platform reach this tenant at.
    public static func tenantURL(_ inputs: InstallInputs) -> String {
        if let url = inputs.publicURL { return url }
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count - 1)
        let host = String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return "http://\(host.isEmpty ? "localhost" : host):\(inputs.port)"
    }

    public func check(_ context: InstallContext) async throws(InstallError) -> StepCheck {
        guard let orgID = context.inputs.orgID, let platformURL = context.inputs.platformURL else { return .done }
        _ = try PlatformClient(baseURL: platformURL, orgID: orgID)
        let wanted = Record(orgID: orgID, platformURL: platformURL, tenantURL: Self.tenantURL(context.inputs))
        let current = Record.load(context.files)
        if let current, current.orgID == wanted.orgID, current.platformURL == wanted.platformURL, current.tenantURL == wanted.tenantURL,
           ConfigStep.secret(context.files, "MOLECULE_CP_SHARED_SECRET") != nil {
            return StepCheck(notes: ["registered with \(platformURL) as org \(orgID)"])
        }
        context.markServicesStale()
        return StepCheck(changes: [Change("register \(wanted.tenantURL) with \(platformURL) as org \(orgID)",
                                          detail: "POST \(platformURL)/cp/tenants/register; the shared secret goes to \(ConfigStep.secretsEnvPath)")])
    }

    public func apply(_ context: InstallContext, _ check: StepCheck) async throws(InstallError) {
        guard let orgID = context.inputs.orgID, let platformURL = context.inputs.platformURL else { return }
        guard let token = context.secrets.registrationToken else {
            throw .message("registering with \(platformURL) needs the one-time registration token: pass --registration-token-file FILE (or - for stdin)")
        }
        context.log.addSecret(token)
        let client = try PlatformClient(baseURL: platformURL, orgID: orgID)
        let tenantURL = Self.tenantURL(context.inputs)
        context.log.line("POST \(platformURL)/cp/tenants/register (org \(orgID), tenant \(tenantURL))")
        let reply = try client.register(tenantURL: tenantURL, token: token)
        context.log.addSecret(reply.sharedSecret)

        let group = Accounts(context.files).gid(SystemUserStep.user) ?? 0
        var secrets = try ConfigStep.entries(context.files, ConfigStep.secretsEnvPath)
        ConfigStep.set(&secrets, "MOLECULE_CP_SHARED_SECRET", reply.sharedSecret)
        try context.write(ConfigStep.secretsEnvPath, ConfigStep.secretsHeader + EnvFile.render(secrets), mode: 0o600, gid: group)

        // The platform's config for new tenants arrives the same way as for old ones.
        let config = try client.fetchConfig(sharedSecret: reply.sharedSecret)
        let applied = try ConfigApplier.apply(context, config)
        if !applied.changed.isEmpty { context.log.line("applied platform config: \(applied.changed.joined(separator: ", "))") }

        let record = Record(orgID: orgID, platformURL: platformURL, tenantURL: tenantURL, tenantID: reply.tenantID)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        let text = String(decoding: (try? encoder.encode(record)) ?? Data(), as: UTF8.self) + "\n"
        try context.files.makeDirectory("/var/lib/molecule-tenant", mode: 0o750, uid: Accounts(context.files).uid(SystemUserStep.user) ?? 0, gid: group)
        try context.write(Self.recordPath, text, mode: 0o644)
        context.markServicesStale()
    }
}
