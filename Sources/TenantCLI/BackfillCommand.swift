import ArgumentParser
import Backfill
import MemoryContract
import MemoryPluginClient
import Postgres
import TenantConfig

#if canImport(Glibc)
import Glibc
#endif

struct BackfillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill",
        abstract: "Copy a legacy tenant's memories (agent_memories, workspace_memory) into the memory plugin.",
        discussion: """
            Reads the reference server's tables from DATABASE_URL (never writes them) and writes \
            through the plugin at MEMORY_PLUGIN_URL. Safe to re-run: rows already copied are \
            reported unchanged. The last line is always \
            `backfill: scanned=N copied=N unchanged=N skipped=N errors=N`.
            Exit codes: 0 no errors, 1 a row failed or the run stopped, 2 usage, 3 verify found mismatches.
            The reference's spellings (-dry-run, -apply, -verify, -verify-sample=N) work too.

            Examples:
              molecule-tenant backfill --dry-run
              molecule-tenant backfill --apply --batch-size 1000
              molecule-tenant backfill --verify
              molecule-tenant backfill --verify --verify-sample 50 --json
            """
    )
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Report what --apply would do (reads the plugin); write nothing.") var dryRun = false
    @Flag(help: "Copy the rows.") var apply = false
    @Flag(help: "Check every legacy row against the plugin; exit 3 on a mismatch.") var verify = false
    @Option(help: ArgumentHelp("With --verify: check only N workspaces, chosen at random.", valueName: "N")) var verifySample: Int?
    @Option(help: ArgumentHelp("Only this workspace's rows.", valueName: "ID")) var workspace: String?
    @Option(help: ArgumentHelp("Legacy rows per batch, 1 to 1000.", valueName: "N")) var batchSize: Int = 1000
    @Option(help: ArgumentHelp("Stop after N legacy rows.", valueName: "N")) var limit: Int?

    func validate() throws {
        guard [dryRun, apply, verify].filter({ $0 }).count == 1 else {
            throw ValidationError("choose exactly one of --dry-run, --apply or --verify")
        }
        guard (1...BackfillOptions.maxBatchSize).contains(batchSize) else {
            throw ValidationError("--batch-size must be between 1 and \(BackfillOptions.maxBatchSize)")
        }
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        if let verifySample {
            guard verify else { throw ValidationError("--verify-sample goes with --verify") }
            guard verifySample >= 1 else { throw ValidationError("--verify-sample must be at least 1") }
        }
        if let workspace, (try? Validate.memoryID(workspace)) == nil {
            throw ValidationError("--workspace must be a workspace UUID")
        }
    }

    func run() async throws {
        let context = try CommandContext.prepare(global, label: "backfill")
        let databaseURL = try Self.required("DATABASE_URL", context.environment, what: "the legacy server's database")
        let pluginURL = try Self.required("MEMORY_PLUGIN_URL", context.environment, what: "the memory plugin, e.g. http://127.0.0.1:9100")
        // A batch of 1000 rows takes longer than one commit; a dead plugin still fails at once.
        let timeout = max(try context.environment.duration("MEMORY_PLUGIN_TIMEOUT") ?? .seconds(2), .seconds(15))
        let client: MemoryPluginClient
        do {
            client = MemoryPluginClient(configuration: try MemoryPluginClientConfiguration(baseURL: pluginURL, timeout: timeout, maxConnections: 4))
        } catch {
            throw CLIFailure(error.description)
        }
        let pool = PostgresPool(
            .init(conninfo: ConninfoCompatibility.dropSearchPath(databaseURL), maxConnections: 2, acquireTimeout: .seconds(30),
                  applicationName: "molecule-tenant backfill"),
            logger: context.logger)
        let options = BackfillOptions(
            mode: apply ? .apply : verify ? .verify : .dryRun, workspaceID: workspace?.lowercased(), limit: limit,
            batchSize: batchSize, verifySample: verifySample)
        let reporter = ProgressReporter(style: .init(json: global.json, terminal: isatty(STDERR_FILENO) != 0, quiet: global.quiet))
        let summary: BackfillSummary
        do {
            summary = try await BackfillRun(options: options, pool: pool, client: client, reporter: reporter).run()
        } catch {
            await client.shutdown()
            await pool.shutdown()
            throw CLIFailure("backfill stopped: \(error)")
        }
        await client.shutdown()
        await pool.shutdown()
        if summary.errors > 0 {
            throw CLIFailure("backfill: \(summary.errors) row(s) failed (listed above); fix them and run again, copied rows stay unchanged")
        }
        if summary.mismatched > 0 {
            throw CLIFailure(
                "verify: \(summary.mismatched) row(s) do not match the plugin (first: \(summary.firstMismatches.joined(separator: ", ")))",
                exitCode: 3)
        }
    }

    /// Backfill reads one database and writes another service: a built-in default would
    /// point it at the wrong place silently, so both must be set.
    static func required(_ key: String, _ environment: TenantEnvironment, what: String) throws -> String {
        guard let value = environment[key], environment.origin(of: key) != .builtIn else {
            throw CLIFailure("\(key) is not set: set it to \(what), in the environment or /etc/molecule-tenant/tenant.env")
        }
        return value
    }
}
