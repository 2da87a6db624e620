import FoundationEssentials

/// Everything an install was asked to do. Stored (without secrets) in
/// /etc/molecule-tenant/install.json, so a re-run or an upgrade reuses it.
public struct InstallInputs: Codable, Sendable, Equatable {
    public var port: Int = 8080
    public var bindAddress: String = "0.0.0.0"
    /// The URL agents use to reach this tenant (registration reports it).
    public var publicURL: String?
    public var orgID: String?
    public var platformURL: String?
    /// An existing PostgreSQL to use instead of installing one (kept in secrets.env, not here).
    public var externalDatabase: Bool = false
    /// An existing Redis to use instead of installing one (kept in secrets.env, not here).
    public var externalRedis: Bool = false

    public init() {}

    public static let path = "/etc/molecule-tenant/install.json"

    enum CodingKeys: String, CodingKey {
        case port
        case bindAddress = "bind_address"
        case publicURL = "public_url"
        case orgID = "org_id"
        case platformURL = "platform_url"
        case externalDatabase = "external_database"
        case externalRedis = "external_redis"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        port = try container.decodeIfPresent(Int.self, forKey: .port) ?? 8080
        bindAddress = try container.decodeIfPresent(String.self, forKey: .bindAddress) ?? "0.0.0.0"
        publicURL = try container.decodeIfPresent(String.self, forKey: .publicURL)
        orgID = try container.decodeIfPresent(String.self, forKey: .orgID)
        platformURL = try container.decodeIfPresent(String.self, forKey: .platformURL)
        externalDatabase = try container.decodeIfPresent(Bool.self, forKey: .externalDatabase) ?? false
        externalRedis = try container.decodeIfPresent(Bool.self, forKey: .externalRedis) ?? false
    }

    public static func load(_ files: HostFiles) -> InstallInputs? {
        guard let text = files.read(path) else { return nil }
        return try? JSONDecoder().decode(InstallInputs.self, from: Data(text.utf8))
    }

    public func rendered() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self) + "\n"
    }

    /// Whether the tenant registers with a platform.
    public var registers: Bool { orgID != nil && platformURL != nil }
}

/// Secrets given on the command line side channels (files, stdin), never stored in install.json.
public struct InstallSecrets: Sendable {
    public var databaseURL: String?
    public var redisURL: String?
    public var registrationToken: String?

    public init(databaseURL: String? = nil, redisURL: String? = nil, registrationToken: String? = nil) {
        self.databaseURL = databaseURL
        self.redisURL = redisURL
        self.registrationToken = registrationToken
    }
}
