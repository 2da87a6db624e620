import FoundationEssentials
import Installer
import Upgrades

/// `upgrade --auto`'s platform calls through the installer's client: one HTTP/TLS stack,
/// SSRF guard, 10 s timeout and 64 KiB reply cap for every call a tenant makes to its platform.
struct AutoUpdatePlatform: PlatformConnection {
    let client: PlatformClient
    let sharedSecret: String

    var baseURL: String { client.baseURL }

    /// nil for a standalone tenant (no MOLECULE_PLATFORM_URL or MOLECULE_ORG_ID); an error
    /// naming the variable when the settings cannot work.
    static func from(_ values: [String: String]) throws(AutoUpdateSettingsError) -> AutoUpdatePlatform? {
        let url = [values["MOLECULE_PLATFORM_URL"], values["MOLECULE_CP_URL"]].compactMap { $0 }.first { !$0.isEmpty }
        guard let url, let org = values["MOLECULE_ORG_ID"], !org.isEmpty else { return nil }
        let client: PlatformClient
        do {
            client = try PlatformClient(baseURL: url, orgID: org)
        } catch {
            throw AutoUpdateSettingsError("MOLECULE_PLATFORM_URL=\(url) cannot be used: \(error.description)")
        }
        guard let secret = values["MOLECULE_CP_SHARED_SECRET"], !secret.isEmpty else {
            throw AutoUpdateSettingsError("MOLECULE_CP_SHARED_SECRET is not set in secrets.env: this tenant is not registered with "
                + "\(client.baseURL) (run `molecule-tenant install` with --org-id and --platform-url)")
        }
        return AutoUpdatePlatform(client: client, sharedSecret: secret)
    }

    func targetVersion() throws -> String? {
        try client.fetchConfig(sharedSecret: sharedSecret).targetVersion.flatMap { $0.isEmpty ? nil : $0 }
    }

    func report(_ status: TenantStatusReport) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = Array(try encoder.encode(status))
        let headers = [("Authorization", "Bearer \(sharedSecret)"), ("X-Molecule-Org-Id", client.orgID)]
        let response = try HTTPCall().send("POST", client.baseURL + "/cp/tenants/status", headers: headers, body: body)
        guard (200...299).contains(response.status) else {
            throw InstallError.message("the platform refused the status report: HTTP \(response.status)")
        }
    }
}
