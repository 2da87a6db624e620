import Foundation
import Logging
@testable import Migrations
import Postgres
import TestSupport
import Testing

@Suite("Migrations")
struct MigrationRunnerTests {
    @Test func upOnAnEmptyDatabaseAppliesEverythingAndASecondRunIsANoOp() async throws {
        try await withTestDatabase("migrate") { _, pool in
            let runner = MigrationRunner(pool: pool)
            for target in MigrationTarget.allCases {
                let applied = try await runner.up(target)
                #expect(applied.map(\.version) == (try MigrationCatalog.migrations(for: target)).map(\.version))
                #expect(try await runner.up(target).isEmpty)
                #expect(try await runner.status(target).allSatisfy { $0.state == .applied })
            }
            for table in ["public.workspaces", "public.workspace_auth_tokens", "public.org_api_tokens", "public.activity_logs",
                          "memory_plugin.memory_namespaces", "memory_plugin.memory_records"] {
                let exists = try await pool.query("SELECT to_regclass($1) IS NOT NULL", [table])
                #expect(try exists[0].decode(Bool.self, at: 0), "\(table) should exist")
            }
        }
    }

    @Test func theCatalogIsWellFormedAndEveryMigrationCanBeReverted() throws {
        for target in MigrationTarget.allCases {
            let migrations = try MigrationCatalog.migrations(for: target)
            #expect(!migrations.isEmpty)
            #expect(migrations.map(\.version) == migrations.map(\.version).sorted())
            for migration in migrations {
                #expect(migration.down != nil, "\(migration.upPath) needs a down file")
                #expect(migration.checksum.count == 64)
            }
        }
    }

    @Test func anEditedAppliedFileIsRefusedWithItsName() async throws {
        try await withTestDatabase("migrate") { _, pool in
            try await MigrationRunner(pool: pool).up(.server)
            let edited = MigrationRunner(pool: pool, logger: .init(label: "test")) { target in
                try MigrationCatalog.migrations(for: target).map { migration in
                    guard migration.version == 2 else { return migration }
                    return Migration(target: target, version: 2, name: migration.name, up: migration.up + "\n-- edited",
                                     down: migration.down, checksum: "edited")
                }
            }
            let error = await #expect(throws: MigrationError.self) { try await edited.up(.server) }
            #expect(error?.description.contains("Migrations/server/0002_tokens.up.sql was changed after it was applied") == true)
            #expect(try await edited.status(.server).first { $0.version == 2 }?.state == .changed)
        }
    }

    @Test func downToRevertsNewestFirstAndUpReappliesThem() async throws {
        try await withTestDatabase("migrate") { _, pool in
            let runner = MigrationRunner(pool: pool)
            let all = try await runner.up(.server).map(\.version)
            #expect(all.count >= 3 && all == all.sorted())
            let later = all.filter { $0 > 1 }
            let reverted = try await runner.down(.server, to: 1)
            #expect(reverted.map(\.version) == later.reversed())
            let tokens = try await pool.query("SELECT to_regclass('public.workspace_auth_tokens') IS NULL")
            #expect(try tokens[0].decode(Bool.self, at: 0))
            let states = try await runner.status(.server).map { "\($0.version):\($0.state.rawValue)" }
            #expect(states == ["1:applied"] + later.map { "\($0):pending" })
            #expect(try await runner.up(.server).map(\.version) == later)
        }
    }

    @Test func aFailingMigrationLeavesNoTrace() async throws {
        try await withTestDatabase("migrate") { _, pool in
            let broken = MigrationRunner(pool: pool, logger: .init(label: "test")) { target in
                [Migration(target: target, version: 1, name: "half", up: "CREATE TABLE half_done (id int); SELECT 1/0;",
                           down: nil, checksum: "x")]
            }
            let error = await #expect(throws: MigrationError.self) { try await broken.up(.server) }
            #expect(error?.description.contains("Migrations/server/0001_half.up.sql failed") == true)
            let table = try await pool.query("SELECT to_regclass('public.half_done') IS NULL")
            #expect(try table[0].decode(Bool.self, at: 0))
            #expect(try await broken.status(.server).map(\.state) == [.pending])
        }
    }

    @Test func migrationsConvergeOnADatabaseTheReferenceServerCreated() async throws {
        try await withTestDatabase("legacy") { _, pool in
            try await pool.withConnection { try await $0.simpleQuery(ReferenceSchemaFixture.sql) }
            let runner = MigrationRunner(pool: pool)
            try await runner.up(.server)
            try await runner.up(.memoryPlugin)
            // Legacy rows are untouched, and new columns exist with their defaults.
            let workspace = try await pool.query("SELECT name, status::text, delivery_mode, max_concurrent_tasks FROM workspaces").first!
            #expect(try workspace.decode(String.self, "name") == "legacy root")
            #expect(try workspace.decode(String.self, "status") == "online")
            #expect(try workspace.decode(String.self, "delivery_mode") == "push")
            #expect(try workspace.decode(Int.self, "max_concurrent_tasks") == 1)
            #expect(try await pool.query("SELECT count(*) FROM agent_memories").first!.decode(Int.self, at: 0) == 2)
            #expect(try await pool.query("SELECT count(*) FROM workspace_memory").first!.decode(Int.self, at: 0) == 1)
            let record = try await pool.query("SELECT content, kind, version FROM memory_plugin.memory_records").first!
            #expect(try record.decode(String.self, "content") == "reference plugin row")
            #expect(try record.decode(Int.self, "version") == 1)
            // Our kv kind is now allowed where the reference only had fact|summary|checkpoint.
            try await pool.query("""
                INSERT INTO memory_plugin.memory_records (namespace, content, kind, source, key)
                VALUES ('workspace:11111111-1111-1111-1111-111111111111', 'v', 'kv', 'agent', 'k')
                """)
            #expect(try await runner.status(.server).allSatisfy { $0.state == .applied })
        }
    }

    @Test func twoProcessesMigratingAtOnceBothSucceedAndApplyEachFileOnce() async throws {
        let database = try await TestPostgres.createDatabase("concurrent")
        defer { database.drop() }
        let environment = ["DATABASE_URL": database.url, "LOG_FORMAT": "json"]
        let first = try MoleculeTenantBinary.start(["migrate", "up", "--config", "/dev/null"], environment: environment)
        let second = try MoleculeTenantBinary.start(["migrate", "up", "--config", "/dev/null"], environment: environment)
        let outcomes = [first.wait(), second.wait()]
        for outcome in outcomes { #expect(outcome.status == 0, "stderr: \(outcome.stderr)") }
        let pool = database.pool(maxConnections: 1)
        let counts = try await pool.query("SELECT count(*), count(DISTINCT version) FROM tenant_schema_migrations").first!
        #expect(try counts.decode(Int.self, at: 0) == counts.decode(Int.self, at: 1))
        #expect(try counts.decode(Int.self, at: 0) == MigrationCatalog.migrations(for: .server).count)
        // Exactly one of the two applied the files; the other found them applied.
        let applied = outcomes.filter { $0.stdout.contains("applied Migrations/server/0001_workspaces.up.sql") }
        #expect(applied.count == 1)
        await pool.shutdown()
    }

    @Test func statusJSONReportsStatesAndExitsThreeWhilePending() async throws {
        let database = try await TestPostgres.createDatabase("status")
        defer { database.drop() }
        let environment = ["DATABASE_URL": database.url]
        let pending = try MoleculeTenantBinary.run(["migrate", "status", "--json", "--config", "/dev/null"], environment: environment)
        #expect(pending.status == 3)
        struct Row: Decodable { let target: String; let version: Int; let name: String; let state: String; let applied_at: String? }
        let before = try JSONDecoder().decode([Row].self, from: Data(pending.stdout.utf8))
        #expect(before.allSatisfy { $0.state == "pending" && $0.applied_at == nil })
        #expect(Set(before.map(\.target)) == ["server", "memory-plugin"])

        let up = try MoleculeTenantBinary.run(["migrate", "up", "--json", "--config", "/dev/null"], environment: environment)
        #expect(up.status == 0, "stderr: \(up.stderr)")
        let events = up.stdout.split(separator: "\n")
        #expect(events.last?.contains(#""event":"done""#) == true)

        let current = try MoleculeTenantBinary.run(["migrate", "status", "--json", "--config", "/dev/null"], environment: environment)
        #expect(current.status == 0)
        let after = try JSONDecoder().decode([Row].self, from: Data(current.stdout.utf8))
        #expect(after.allSatisfy { $0.state == "applied" && $0.applied_at != nil })
    }

    /// Hosted images carry the reference's URLs, which end in `search_path=...`: libpq
    /// refuses that parameter, so every command drops it.
    @Test func aReferenceStyleURLWithSearchPathIsAccepted() async throws {
        let database = try await TestPostgres.createDatabase("searchpath")
        defer { database.drop() }
        let url = database.url + (database.url.contains("?") ? "&" : "?") + "search_path=memory_plugin,public"
        let up = try MoleculeTenantBinary.run(["migrate", "up", "--target", "memory-plugin", "--config", "/dev/null"], environment: ["DATABASE_URL": url])
        #expect(up.status == 0, "stderr: \(up.stderr)")
        let status = try MoleculeTenantBinary.run(["migrate", "status", "--config", "/dev/null"], environment: ["MEMORY_PLUGIN_DATABASE_URL": url, "DATABASE_URL": url])
        #expect(status.status == 3, "the server's migrations are still pending: \(status.stderr)")
    }

    @Test func anUnreachableDatabaseIsOneReadableLineAndExitOne() throws {
        let outcome = try MoleculeTenantBinary.run(
            ["migrate", "up", "--config", "/dev/null"],
            environment: ["DATABASE_URL": "postgres://postgres:hunter2secret@127.0.0.1:\(freeTCPPort())/nowhere"]
        )
        #expect(outcome.status == 1)
        let lines = outcome.stderr.split(separator: "\n")
        #expect(lines.count == 1, "stderr: \(outcome.stderr)")
        #expect(lines.first?.hasPrefix("molecule-tenant: database connection failed") == true)
        #expect(!outcome.stderr.contains("hunter2secret"))
    }
}
