import ArgumentParser

// Commands whose implementation lands in later issues. They exist now so `--help`
// shows the whole product; running one says so in one line and exits 1.

private func notAvailable(_ command: String) -> CLIFailure {
    CLIFailure("`\(command)` is not available yet in this build")
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
