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

struct UpgradeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade",
        abstract: "Upgrade to a signed release with zero downtime; rolls back by itself if the health gate fails.",
        discussion: """
            Examples:
              sudo molecule-tenant upgrade --check
              sudo molecule-tenant upgrade --bundle molecule-tenant-1.2.0-linux-amd64.tar.gz
              sudo molecule-tenant upgrade --rollback
            """
    )
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Exit 2 when an upgrade is available, 0 when current.") var check = false
    @Option(help: "Upgrade to this version.") var to: String?
    @Option(help: "Upgrade from this bundle file.") var bundle: String?
    @Option(help: "Release channel.") var channel: String?
    @Flag(help: "Return to the previous release.") var rollback = false
    func run() async throws { throw notAvailable("upgrade") }
}

struct ReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Make signed release bundles.",
        subcommands: [Bundle.self]
    )

    struct Bundle: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bundle",
            abstract: "Write molecule-tenant-<version>-linux-<arch>.tar.gz and its Ed25519 signature.",
            discussion: """
                Example:
                  molecule-tenant release bundle --binary .build/release/molecule-tenant --key release.pem --out dist --version 1.2.0
                """
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "The binary to bundle.") var binary: String?
        @Option(help: "Ed25519 private key (PEM).") var key: String?
        @Option(help: "Output directory.") var out: String?
        @Option(help: "Version to stamp into the bundled copy.") var version: String?
        func run() async throws { throw notAvailable("release bundle") }
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
