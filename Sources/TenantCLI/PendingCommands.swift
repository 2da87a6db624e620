import ArgumentParser

// Commands whose implementation lands in later issues. They exist now so `--help`
// shows the whole product; running one says so in one line and exits 1.

private func notAvailable(_ command: String) -> CLIFailure {
    CLIFailure("`\(command)` is not available yet in this build")
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Supervise the memory plugin and the server in one process tree.",
        discussion: """
            With --embedded DIR, also starts a private PostgreSQL and Redis under DIR.

            Example:
              molecule-tenant run --embedded ./.tenant
            """
    )
    @OptionGroup var global: GlobalOptions
    @Option(help: ArgumentHelp("Run PostgreSQL and Redis of our own under DIR.", valueName: "DIR")) var embedded: String?
    func run() async throws { throw notAvailable("run") }
}

struct BackfillCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backfill",
        abstract: "Copy a legacy tenant's memories (agent_memories, workspace_memory) into the memory plugin.",
        discussion: """
            Examples:
              molecule-tenant backfill --dry-run
              molecule-tenant backfill --apply --batch-size 1000
              molecule-tenant backfill --verify
            """
    )
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Report what --apply would do; write nothing.") var dryRun = false
    @Flag(help: "Copy the rows.") var apply = false
    @Flag(help: "Check every legacy row against the plugin.") var verify = false
    @Option(help: "Verify only N workspaces.") var verifySample: Int?
    @Option(help: "Only this workspace.") var workspace: String?
    @Option(help: "Rows per batch.") var batchSize: Int = 1000
    @Option(help: "Stop after N rows.") var limit: Int?
    func run() async throws { throw notAvailable("backfill") }
}

struct InstallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Turn this Linux host into a running tenant (PostgreSQL, Redis, services, health gate).",
        discussion: """
            Examples:
              sudo molecule-tenant install --plan
              sudo molecule-tenant install --org-id ORG --platform-url https://platform.example
            """
    )
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print what would change and exit 2 if anything would.") var plan = false
    @Option(help: "Organisation id on the platform.") var orgId: String?
    @Option(help: "Platform URL to register with.") var platformURL: String?
    func run() async throws { throw notAvailable("install") }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Show the installed tenant's services, version and health.")
    @OptionGroup var global: GlobalOptions
    func run() async throws { throw notAvailable("status") }
}

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the installed tenant and say what to fix (exit 3 when a check fails)."
    )
    @OptionGroup var global: GlobalOptions
    func run() async throws { throw notAvailable("doctor") }
}

struct UninstallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uninstall",
        abstract: "Stop and remove the tenant's services; --purge also deletes its data and secrets."
    )
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Also delete the database, config and secrets.") var purge = false
    func run() async throws { throw notAvailable("uninstall") }
}

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with this install's configuration.",
        subcommands: [Sync.self]
    )

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sync",
            abstract: "Fetch the platform's config for this tenant and apply new values to secrets.env."
        )
        @OptionGroup var global: GlobalOptions
        func run() async throws { throw notAvailable("config sync") }
    }
}

struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Manage encrypted workspace secrets.",
        subcommands: [RotateKey.self]
    )

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Re-encrypt every stored secret under a new SECRETS_ENCRYPTION_KEY."
        )
        @OptionGroup var global: GlobalOptions
        func run() async throws { throw notAvailable("secrets rotate-key") }
    }
}
