import Logging
import Postgres

/// Applies, reports and reverts migrations against one database.
///
/// Every run holds one PostgreSQL advisory lock for its whole duration, so servers,
/// plugins and `migrate` started at the same moment apply each file exactly once: the
/// others wait, then find nothing to do. Each file runs in its own transaction together
/// with its ledger row, so a failed file leaves no trace.
public struct MigrationRunner: Sendable {
    /// Shared by every target and process: "molecule-tenant migrations".
    public static let advisoryLockKey: Int64 = 0x6D6F_6C65_6D69_6772

    public let pool: PostgresPool
    let logger: Logger
    let catalog: @Sendable (MigrationTarget) throws -> [Migration]

    public init(pool: PostgresPool, logger: Logger = Logger(label: "migrate")) {
        self.init(pool: pool, logger: logger, catalog: { try MigrationCatalog.migrations(for: $0) })
    }

    /// For tests that need a catalog other than the compiled-in one.
    public init(pool: PostgresPool, logger: Logger, catalog: @escaping @Sendable (MigrationTarget) throws -> [Migration]) {
        self.pool = pool
        self.logger = logger
        self.catalog = catalog
    }

    /// Applies every pending migration of `target`; returns those applied (empty = up to date).
    @discardableResult
    public func up(_ target: MigrationTarget) async throws -> [Migration] {
        try await withLockedLedger(target) { session, applied, migrations in
            var done: [Migration] = []
            for migration in migrations where applied[migration.version] == nil {
                let started = ContinuousClock.now
                do {
                    try await session.transaction { session in
                        try await session.simpleQuery("SET LOCAL search_path = \(target.searchPath)")
                        try await session.simpleQuery(migration.up)
                        try await session.query(
                            "INSERT INTO \(target.ledgerTable) (version, name, sha256) VALUES ($1, $2, $3)",
                            [migration.version, migration.name, migration.checksum]
                        )
                    }
                } catch let error as PostgresError {
                    throw MigrationError.failed(path: migration.upPath, underlying: error)
                }
                logger.info("applied migration", metadata: [
                    "file": "\(migration.upPath)", "ms": "\((ContinuousClock.now - started).milliseconds)",
                ])
                done.append(migration)
            }
            return done
        }
    }

    /// Reverts applied migrations above `version`, newest first, using their down files.
    @discardableResult
    public func down(_ target: MigrationTarget, to version: Int) async throws -> [Migration] {
        try await withLockedLedger(target) { session, applied, migrations in
            let byVersion = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
            var reverted: [Migration] = []
            for appliedVersion in applied.keys.sorted(by: >) where appliedVersion > version {
                guard let migration = byVersion[appliedVersion] else {
                    throw MigrationError.unknownApplied(target: target, version: appliedVersion, name: applied[appliedVersion]!.name)
                }
                guard let down = migration.down else { throw MigrationError.noDownFile(path: migration.downPath) }
                do {
                    try await session.transaction { session in
                        try await session.simpleQuery("SET LOCAL search_path = \(target.searchPath)")
                        try await session.simpleQuery(down)
                        try await session.query("DELETE FROM \(target.ledgerTable) WHERE version = $1", [migration.version])
                    }
                } catch let error as PostgresError {
                    throw MigrationError.failed(path: migration.downPath, underlying: error)
                }
                logger.info("reverted migration", metadata: ["file": "\(migration.downPath)"])
                reverted.append(migration)
            }
            return reverted
        }
    }

    /// Holds the advisory lock, makes sure the ledger exists, refuses changed files, then
    /// runs `body` with the applied records and the compiled-in migrations.
    private func withLockedLedger<T: Sendable>(
        _ target: MigrationTarget,
        _ body: (PostgresSession, [Int: LedgerRecord], [Migration]) async throws -> T
    ) async throws -> T {
        let migrations = try catalog(target)
        return try await pool.withConnection { session in
            try await session.withAdvisoryLock(Self.advisoryLockKey) { session in
                try await ensureLedger(target, session)
                let applied = try await ledger(target, session)
                try verifyChecksums(migrations, applied)
                return try await body(session, applied, migrations)
            }
        }
    }

    /// Every known or applied migration of `target` and its state.
    public func status(_ target: MigrationTarget) async throws -> [MigrationStatus] {
        let migrations = try catalog(target)
        let applied = try await pool.withConnection { session in
            try await ledgerIfPresent(target, session)
        }
        var rows: [MigrationStatus] = migrations.map { migration in
            guard let record = applied[migration.version] else {
                return MigrationStatus(target: target, version: migration.version, name: migration.name, state: .pending, appliedAt: nil, checksum: migration.checksum)
            }
            let state: MigrationStatus.State = record.checksum == migration.checksum ? .applied : .changed
            return MigrationStatus(target: target, version: migration.version, name: migration.name, state: state, appliedAt: record.appliedAt, checksum: migration.checksum)
        }
        let known = Set(migrations.map(\.version))
        for (version, record) in applied where !known.contains(version) {
            rows.append(MigrationStatus(target: target, version: version, name: record.name, state: .unknown, appliedAt: record.appliedAt, checksum: record.checksum))
        }
        return rows.sorted { $0.version < $1.version }
    }

    // MARK: - Ledger

    struct LedgerRecord {
        let name: String
        let checksum: String
        let appliedAt: PostgresTimestamp
    }

    private func ensureLedger(_ target: MigrationTarget, _ session: PostgresSession) async throws {
        try await session.simpleQuery("""
            CREATE SCHEMA IF NOT EXISTS \(target.schema);
            CREATE TABLE IF NOT EXISTS \(target.ledgerTable) (
                version    INTEGER PRIMARY KEY,
                name       TEXT NOT NULL,
                sha256     TEXT NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
            )
            """)
    }

    private func ledger(_ target: MigrationTarget, _ session: PostgresSession) async throws -> [Int: LedgerRecord] {
        let result = try await session.query("SELECT version, name, sha256, applied_at FROM \(target.ledgerTable)")
        var records: [Int: LedgerRecord] = [:]
        for row in result.rows {
            records[try row.decode(Int.self, "version")] = LedgerRecord(
                name: try row.decode(String.self, "name"),
                checksum: try row.decode(String.self, "sha256"),
                appliedAt: try row.decode(PostgresTimestamp.self, "applied_at")
            )
        }
        return records
    }

    /// `status` must not create anything, so a missing ledger means nothing is applied.
    private func ledgerIfPresent(_ target: MigrationTarget, _ session: PostgresSession) async throws -> [Int: LedgerRecord] {
        let exists = try await session.query("SELECT to_regclass($1) IS NOT NULL", [target.ledgerTable])
        guard try exists[0].decode(Bool.self, at: 0) else { return [:] }
        return try await ledger(target, session)
    }

    private func verifyChecksums(_ migrations: [Migration], _ applied: [Int: LedgerRecord]) throws {
        for migration in migrations {
            if let record = applied[migration.version], record.checksum != migration.checksum {
                throw MigrationError.checksumChanged(path: migration.upPath)
            }
        }
    }
}

/// One line of `migrate status`.
public struct MigrationStatus: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        /// In the ledger with the same checksum.
        case applied
        /// Not applied yet.
        case pending
        /// Applied, but the file in this binary differs from what ran.
        case changed
        /// In the ledger, but this binary has no such file (applied by a newer release).
        case unknown
    }

    public let target: MigrationTarget
    public let version: Int
    public let name: String
    public let state: State
    public let appliedAt: PostgresTimestamp?
    public let checksum: String

    enum CodingKeys: String, CodingKey {
        case target, version, name, state, checksum
        case appliedAt = "applied_at"
    }
}

/// Why a migration run stopped, phrased for the operator.
public enum MigrationError: Error, CustomStringConvertible {
    case checksumChanged(path: String)
    case noDownFile(path: String)
    case unknownApplied(target: MigrationTarget, version: Int, name: String)
    case failed(path: String, underlying: PostgresError)

    public var description: String {
        switch self {
        case .checksumChanged(let path):
            "\(path) was changed after it was applied; restore the original file and put the change in a new migration"
        case .noDownFile(let path):
            "\(path) does not exist, so this migration cannot be reverted"
        case .unknownApplied(let target, let version, let name):
            "the database has \(target.rawValue) migration \(version) (\(name)), which this binary does not know; use the release that applied it"
        case .failed(let path, let underlying):
            "\(path) failed: \(underlying)"
        }
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}
