import BuildInfo
import FoundationEssentials

/// The tenant's outbound calls to a platform (docs/platform-protocol.md): registration and
/// config sync. https only (http for loopback, which the tests' stub platform uses), 10 s
/// timeout, 64 KiB reply cap, and no link-local or unspecified addresses (SSRF guard).
public struct PlatformClient: Sendable {
    public let baseURL: String
    public let orgID: String

    public init(baseURL: String, orgID: String) throws(InstallError) {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        try Self.validate(base)
        self.baseURL = base
        self.orgID = orgID
    }

    /// https, or http to a loopback address; never a link-local, unspecified or multicast one.
    public static func validate(_ url: String) throws(InstallError) {
        guard let target = HTTPCall.Target.parse(url) else {
            throw .message("--platform-url \(url) is not an http(s) URL")
        }
        let loopback = ["127.0.0.1", "localhost", "::1"].contains(target.host) || target.host.hasPrefix("127.")
        if !target.secure && !loopback {
            throw .message("--platform-url must use https (http is accepted only for loopback addresses)")
        }
        let host = target.host
        if host.hasPrefix("169.254.") || host == "0.0.0.0" || host == "::" || host.lowercased().hasPrefix("fe80:")
            || host.split(separator: ".").first.flatMap({ Int($0) }).map({ (224...255).contains($0) }) == true {
            throw .message("--platform-url \(url) points at a link-local, unspecified or multicast address")
        }
    }

    public struct Registration: Encodable, Sendable {
        let orgID: String
        let tenantURL: String
        let version: String
        let capabilities: [String]

        enum CodingKeys: String, CodingKey {
            case orgID = "org_id"
            case tenantURL = "tenant_url"
            case version, capabilities
        }
    }

    public struct RegistrationReply: Decodable, Sendable {
        public let tenantID: String?
        public let sharedSecret: String

        enum CodingKeys: String, CodingKey {
            case tenantID = "tenant_id"
            case sharedSecret = "shared_secret"
        }
    }

    /// The platform's config for this tenant: plain settings and secrets, each applied to
    /// its own file, plus the release the platform wants this tenant on.
    public struct ConfigReply: Decodable, Sendable {
        public let config: [String: String]?
        public let secrets: [String: String]?
        public let targetVersion: String?

        enum CodingKeys: String, CodingKey {
            case config, secrets
            case targetVersion = "target_version"
        }
    }

    public static let capabilities = ["memory-plugin-v1", "registry", "activity", "config-sync"]

    public func register(tenantURL: String, token: String) throws(InstallError) -> RegistrationReply {
        let body = Registration(orgID: orgID, tenantURL: tenantURL, version: BuildInfo.version, capabilities: Self.capabilities)
        let encoded = (try? JSONEncoder().encode(body)).map { Array($0) } ?? []
        let response = try HTTPCall().send("POST", baseURL + "/cp/tenants/register", headers: headers(bearer: token), body: encoded)
        guard response.status == 200 || response.status == 201 else {
            throw .message("the platform refused registration: HTTP \(response.status)\(Self.errorText(response))")
        }
        guard let reply = try? JSONDecoder().decode(RegistrationReply.self, from: Data(response.body)), !reply.sharedSecret.isEmpty else {
            throw .message("the platform's registration reply has no shared_secret")
        }
        return reply
    }

    public func fetchConfig(sharedSecret: String) throws(InstallError) -> ConfigReply {
        let response = try HTTPCall().send("GET", baseURL + "/cp/tenants/config", headers: headers(bearer: sharedSecret))
        guard response.status == 200 else {
            throw .message("the platform refused the config request: HTTP \(response.status)\(Self.errorText(response))")
        }
        do {
            return try JSONDecoder().decode(ConfigReply.self, from: Data(response.body))
        } catch {
            throw .message("the platform's config reply is not the expected JSON object")
        }
    }

    func headers(bearer: String) -> [(String, String)] {
        [("Authorization", "Bearer \(bearer)"), ("X-Molecule-Org-Id", orgID)]
    }

    struct ErrorBody: Decodable { let error: String? }

    /// The platform's `error` string, if it sent one (short, for the one-line message).
    static func errorText(_ response: HTTPCall.Response) -> String {
        guard let body = try? JSONDecoder().decode(ErrorBody.self, from: Data(response.body)), let error = body.error else { return "" }
        return ": " + String(error.prefix(200))
    }
}
