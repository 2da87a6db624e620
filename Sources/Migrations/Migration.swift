import TenantCrypto

/// Whose schema a migration belongs to. Each target has its own directory under
/// `Migrations/` and its own ledger table.
public enum MigrationTarget: String, Sendable, CaseIterable, Codable {
    case server
    case memoryPlugin = "memory-plugin"

    /// Schema-qualified ledger table (DESIGN section 6).
    public var ledgerTable: String {
        switch self {
        case .server: "public.tenant_schema_migrations"
        case .memoryPlugin: "memory_plugin.schema_migrations"
        }
    }

    /// The schema the target owns; created before its ledger.
    var schema: String {
        switch self {
        case .server: "public"
        case .memoryPlugin: "memory_plugin"
        }
    }

    /// search_path while its files run, so unqualified names land in the right schema
    /// and extension types installed in public (e.g. pgvector) still resolve.
    var searchPath: String {
        switch self {
        case .server: "public"
        case .memoryPlugin: "memory_plugin, public"
        }
    }
}

/// One schema change: `NNNN_name.up.sql` and (optionally) `NNNN_name.down.sql`.
public struct Migration: Sendable, Equatable {
    public let target: MigrationTarget
    public let version: Int
    public let name: String
    public let up: String
    public let down: String?
    /// sha256 (hex) of the up file's exact bytes.
    public let checksum: String

    /// The file's path in the repository, for messages.
    public var upPath: String { "Migrations/\(target.rawValue)/\(fileStem).up.sql" }
    public var downPath: String { "Migrations/\(target.rawValue)/\(fileStem).down.sql" }

    var fileStem: String {
        let digits = String(version)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits + "_" + name
    }
}

/// A source SQL file as compiled into the binary by the EmbedMigrationsPlugin.
struct EmbeddedSQLFile {
    let target: String
    let name: String
    let text: String
}

/// Every migration compiled into this binary, checked for well-formed names.
public enum MigrationCatalog {
    public enum CatalogError: Error, CustomStringConvertible {
        case badFileName(String)
        case duplicateVersion(String, Int)
        case downWithoutUp(String)
        case unknownTarget(String)

        public var description: String {
            switch self {
            case .badFileName(let path): "\(path): migration files are named NNNN_name.up.sql or NNNN_name.down.sql"
            case .duplicateVersion(let target, let version): "Migrations/\(target): version \(version) is used twice"
            case .downWithoutUp(let path): "\(path) has no matching .up.sql file"
            case .unknownTarget(let directory): "Migrations/\(directory) is not a migration target (server, memory-plugin)"
            }
        }
    }

    /// All migrations of `target`, ordered by version.
    public static func migrations(for target: MigrationTarget) throws(CatalogError) -> [Migration] {
        try parse(embeddedSQLFiles)[target] ?? []
    }

    static func parse(_ files: [EmbeddedSQLFile]) throws(CatalogError) -> [MigrationTarget: [Migration]] {
        struct Pair { var name: String; var up: String?; var down: String? }
        var pairs: [MigrationTarget: [Int: Pair]] = [:]
        for file in files {
            guard let target = MigrationTarget(rawValue: file.target) else { throw .unknownTarget(file.target) }
            let path = "Migrations/\(file.target)/\(file.name)"
            let isUp = file.name.hasSuffix(".up.sql")
            guard isUp || file.name.hasSuffix(".down.sql") else { throw .badFileName(path) }
            let stem = file.name.dropLast(isUp ? ".up.sql".count : ".down.sql".count)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]), version > 0 else {
                throw .badFileName(path)
            }
            let name = String(stem[stem.index(after: underscore)...])
            guard !name.isEmpty else { throw .badFileName(path) }
            var pair = pairs[target, default: [:]][version] ?? Pair(name: name)
            guard pair.name == name else { throw .duplicateVersion(file.target, version) }
            if isUp {
                guard pair.up == nil else { throw .duplicateVersion(file.target, version) }
                pair.up = file.text
            } else {
                guard pair.down == nil else { throw .duplicateVersion(file.target, version) }
                pair.down = file.text
            }
            pairs[target, default: [:]][version] = pair
        }
        var result: [MigrationTarget: [Migration]] = [:]
        for (target, versions) in pairs {
            result[target] = try versions.keys.sorted().map { (version) throws(CatalogError) -> Migration in
                let pair = versions[version]!
                guard let up = pair.up else { throw .downWithoutUp("Migrations/\(target.rawValue)/\(version)_\(pair.name).down.sql") }
                return Migration(
                    target: target, version: version, name: pair.name, up: up, down: pair.down,
                    checksum: Hex.encode(SHA256.hash(Array(up.utf8)))
                )
            }
        }
        return result
    }
}
