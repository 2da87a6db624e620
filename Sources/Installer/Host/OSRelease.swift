import TenantConfig

/// The fields of /etc/os-release the installer needs.
public struct OSRelease: Sendable, Equatable {
    public let id: String
    public let versionID: String
    public let codename: String
    public let prettyName: String

    public static func parse(_ text: String) -> OSRelease {
        var fields: [String: String] = [:]
        // os-release is shell-compatible KEY=VALUE; EnvFile understands its quoting.
        for line in text.split(separator: "\n") {
            if let entries = try? EnvFile.parse(String(line)), let entry = entries.first { fields[entry.key] = entry.value }
        }
        return OSRelease(
            id: fields["ID"] ?? "unknown",
            versionID: fields["VERSION_ID"] ?? "",
            codename: fields["VERSION_CODENAME"] ?? fields["UBUNTU_CODENAME"] ?? "",
            prettyName: fields["PRETTY_NAME"] ?? "\(fields["ID"] ?? "unknown") \(fields["VERSION_ID"] ?? "")"
        )
    }
}

/// A supported distribution release and what it needs: where PostgreSQL with pgvector
/// comes from and which name its libarchive package has.
public struct Platform: Sendable, Equatable {
    public enum PostgresSource: Sendable, Equatable {
        /// The release's own packages (pgvector packaged for its default PostgreSQL).
        case distribution
        /// The PostgreSQL project's repository, set up by postgresql-common's script.
        case projectRepository
    }

    public let id: String
    public let versionID: String
    public let name: String
    public let postgresMajor: Int
    public let postgresSource: PostgresSource
    public let libarchivePackage: String

    public var postgresPackages: [String] { ["postgresql-\(postgresMajor)", "postgresql-\(postgresMajor)-pgvector"] }

    /// Debian 12/13, Ubuntu 22.04/24.04 (DESIGN section 7).
    public static let supported: [Platform] = [
        Platform(id: "debian", versionID: "12", name: "Debian 12", postgresMajor: 17, postgresSource: .projectRepository, libarchivePackage: "libarchive13"),
        Platform(id: "debian", versionID: "13", name: "Debian 13", postgresMajor: 17, postgresSource: .distribution, libarchivePackage: "libarchive13t64"),
        Platform(id: "ubuntu", versionID: "22.04", name: "Ubuntu 22.04", postgresMajor: 17, postgresSource: .projectRepository, libarchivePackage: "libarchive13"),
        Platform(id: "ubuntu", versionID: "24.04", name: "Ubuntu 24.04", postgresMajor: 16, postgresSource: .distribution, libarchivePackage: "libarchive13t64"),
    ]

    public static var supportedList: String { supported.map(\.name).joined(separator: ", ") }

    /// The platform for this os-release, or a line that names what is supported.
    public static func detect(_ release: OSRelease) throws(InstallError) -> Platform {
        guard let platform = supported.first(where: { $0.id == release.id && $0.versionID == release.versionID }) else {
            throw .message("\(release.prettyName) is not supported: use \(supportedList)")
        }
        return platform
    }
}
