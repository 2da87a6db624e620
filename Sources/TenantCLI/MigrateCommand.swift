import ArgumentParser
import Migrations
import Postgres
import TenantConfig

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply, inspect or revert the SQL migrations of the server and the memory plugin.",
        discussion: """
            The migrations are compiled into this binary. Every run holds a PostgreSQL advisory \
            lock, so it is safe while servers are starting. Uses DATABASE_URL (and \
            MEMORY_PLUGIN_DATABASE_URL for the memory plugin's target when set).

            Examples:
              molecule-tenant migrate up
              molecule-tenant migrate status --json
              molecule-tenant migrate down --to 2 --target server
            """,
        subcommands: [Up.self, Status.self, Down.self],
        defaultSubcommand: nil
    )

    enum TargetChoice: String, ExpressibleByArgument, CaseIterable {
        case server
        case memoryPlugin = "memory-plugin"
        case all

        var targets: [MigrationTarget] {
            switch self {
            case .server: [.server]
            case .memoryPlugin: [.memoryPlugin]
            case .all: [.server, .memoryPlugin]
            }
        }
    }

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply every pending migration.")

        @OptionGroup var global: GlobalOptions
        @Option(help: "Which schema: server, memory-plugin or all.") var target: TargetChoice = .all

        func run() async throws {
            let context = try CommandContext.prepare(global, label: "migrate")
            try await withRunners(context, target.targets) { target, runner in
                let applied = try await runner.up(target)
                for migration in applied {
                    if context.options.json {
                        try context.emit(MigrationEvent(event: "applied", target: target.rawValue, version: migration.version, name: migration.name))
                    } else {
                        context.say("applied \(migration.upPath)")
                    }
                }
                if context.options.json {
                    try context.emit(MigrationEvent(event: "done", target: target.rawValue, count: applied.count))
                } else {
                    context.say(applied.isEmpty ? "\(target.rawValue): up to date" : "\(target.rawValue): applied \(applied.count) migration(s)")
                }
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each migration and whether it is applied.",
            discussion: "Exits 3 when a migration is pending, changed after it was applied, or unknown to this binary."
        )

        @OptionGroup var global: GlobalOptions
        @Option(help: "Which schema: server, memory-plugin or all.") var target: TargetChoice = .all

        func run() async throws {
            let context = try CommandContext.prepare(global, label: "migrate")
            var rows: [MigrationStatus] = []
            try await withRunners(context, target.targets) { target, runner in
                rows += try await runner.status(target)
            }
            if context.options.json {
                try context.emit(rows)
            } else if !context.options.quiet {
                Output.standard("TARGET         VERSION  STATE    APPLIED AT                   NAME")
                for row in rows {
                    Output.standard(
                        row.target.rawValue.padded(15) + String(row.version).padded(9) + row.state.rawValue.padded(9)
                            + (row.appliedAt?.rfc3339 ?? "-").padded(29) + row.name
                    )
                }
            }
            if rows.contains(where: { $0.state != .applied }) { throw ExitCode(3) }
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revert applied migrations above version N, newest first.",
            discussion: "Reverting drops data. Upgrades never run down migrations; this is for development and recovery."
        )

        @OptionGroup var global: GlobalOptions
        @Option(help: "Keep migrations up to and including this version.") var to: Int
        @Option(help: "Which schema: server or memory-plugin.") var target: TargetChoice

        func validate() throws {
            guard to >= 0 else { throw ValidationError("--to must be 0 or a migration version") }
            guard target != .all else { throw ValidationError("choose one --target (server or memory-plugin) to revert") }
        }

        func run() async throws {
            let context = try CommandContext.prepare(global, label: "migrate")
            try await withRunners(context, target.targets) { target, runner in
                let reverted = try await runner.down(target, to: to)
                for migration in reverted {
                    if context.options.json {
                        try context.emit(MigrationEvent(event: "reverted", target: target.rawValue, version: migration.version, name: migration.name))
                    } else {
                        context.say("reverted \(migration.downPath)")
                    }
                }
                if reverted.isEmpty { context.say("\(target.rawValue): nothing above version \(to)") }
            }
        }
    }

    struct MigrationEvent: Encodable {
        var event: String
        var target: String
        var version: Int?
        var name: String?
        var count: Int?
    }
}

/// Opens one pool per distinct database URL and hands each target its runner.
private func withRunners(
    _ context: CommandContext,
    _ targets: [MigrationTarget],
    _ body: (MigrationTarget, MigrationRunner) async throws -> Void
) async throws {
    for target in targets {
        let conninfo = try databaseURL(for: target, context.environment)
        let pool = PostgresPool(.init(conninfo: conninfo, maxConnections: 1, acquireTimeout: .seconds(60)), logger: context.logger)
        do {
            try await body(target, MigrationRunner(pool: pool, logger: context.logger))
            await pool.shutdown()
        } catch {
            await pool.shutdown()
            throw error
        }
    }
}

/// The database each target lives in: the plugin may have its own (MEMORY_PLUGIN_DATABASE_URL).
func databaseURL(for target: MigrationTarget, _ environment: TenantEnvironment) throws -> String {
    if target == .memoryPlugin, let url = environment["MEMORY_PLUGIN_DATABASE_URL"] { return ConninfoCompatibility.dropSearchPath(url) }
    return ConninfoCompatibility.dropSearchPath(try environment.require("DATABASE_URL"))
}

extension String {
    func padded(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
