/// `manifest.json` inside a release bundle (DESIGN section 12).
public struct ReleaseManifest: Codable, Sendable, Equatable {
    public var version: String
    public var commit: String
    /// RFC 3339 UTC time the bundle was made.
    public var builtAt: String
    /// Lowercase hex sha256 of the bundled binary.
    public var sha256: String
    /// Oldest installed version that may upgrade straight to this one; nil = any.
    public var minUpgradeFrom: String?
    /// Environment variables this release needs set; `upgrade` refuses while any is missing.
    public var requiredConfig: [String]

    public init(version: String, commit: String, builtAt: String, sha256: String, minUpgradeFrom: String? = nil, requiredConfig: [String] = []) {
        self.version = version
        self.commit = commit
        self.builtAt = builtAt
        self.sha256 = sha256
        self.minUpgradeFrom = minUpgradeFrom
        self.requiredConfig = requiredConfig
    }

    enum CodingKeys: String, CodingKey {
        case version, commit, sha256
        case builtAt = "built_at"
        case minUpgradeFrom = "min_upgrade_from"
        case requiredConfig = "required_config"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        version = try container.decode(String.self, forKey: .version)
        commit = try container.decodeIfPresent(String.self, forKey: .commit) ?? "unknown"
        builtAt = try container.decodeIfPresent(String.self, forKey: .builtAt) ?? ""
        sha256 = try container.decode(String.self, forKey: .sha256)
        minUpgradeFrom = try container.decodeIfPresent(String.self, forKey: .minUpgradeFrom)
        requiredConfig = try container.decodeIfPresent([String].self, forKey: .requiredConfig) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(version, forKey: .version)
        try container.encode(commit, forKey: .commit)
        try container.encode(builtAt, forKey: .builtAt)
        try container.encode(sha256, forKey: .sha256)
        // Written as null rather than left out, so readers see the field exists.
        try container.encode(minUpgradeFrom, forKey: .minUpgradeFrom)
        try container.encode(requiredConfig, forKey: .requiredConfig)
    }
}
