import ArgumentParser
import Backfill
import BuildInfo
import MemoryPlugin

#if canImport(Glibc)
import Glibc
#endif

/// The `molecule-tenant` command tree. Each subcommand only parses flags and calls into
/// the modules that do the work.
public struct MoleculeTenant: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "molecule-tenant",
        abstract: "The self-hosted Molecule AI tenant: API server, memory plugin, installer and upgrades in one binary.",
        discussion: """
            Configuration: built-in defaults < /etc/molecule-tenant/tenant.env and secrets.env \
            (or --config FILE) < environment < flags.
            Exit codes: 0 ok, 1 failure, 2 usage error, 3 checks found problems.

            Examples:
              molecule-tenant run --embedded ./.tenant      # a complete tenant in one directory
              sudo molecule-tenant install                  # turn this host into a tenant
              molecule-tenant migrate status --json
            """,
        version: BuildInfo.summary,
        subcommands: [
            ServerCommand.self,
            MemoryPluginCommand.self,
            RunCommand.self,
            MigrateCommand.self,
            BackfillCommand.self,
            InstallCommand.self,
            StatusCommand.self,
            DoctorCommand.self,
            UninstallCommand.self,
            UpgradeCommand.self,
            ReleaseCommand.self,
            ConfigCommand.self,
            SecretsCommand.self,
            BenchCommand.self,
        ]
    )

    public init() {}

    /// Process-wide settings that must precede every thread; main calls it first.
    /// The standalone plugin gets glibc's small-footprint allocator (`MallocTuning`).
    public static func prepareProcess() {
        if CommandLine.arguments.dropFirst().first == MemoryPluginCommand.configuration.commandName {
            MallocTuning.applyForSmallFootprint()
        }
    }

    /// Entry point: runs the command and maps every failure to one line and the
    /// documented exit code (usage errors are 2, not ArgumentParser's 64).
    public static func runAndExit() async -> Never {
        do {
            var command = try parseAsRoot(LegacyFlagSpelling.rewrite(Array(CommandLine.arguments.dropFirst())))
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            Glibc.exit(0)
        } catch let failure as CLIFailure {
            Output.error("molecule-tenant: \(failure.description)")
            Glibc.exit(failure.exitCode)
        } catch let code as ExitCode {
            Glibc.exit(code.rawValue)
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                // --help and --version
                Output.standard(fullMessage(for: error))
                Glibc.exit(0)
            }
            if code == .validationFailure {
                Output.error(fullMessage(for: error))
                Glibc.exit(2)
            }
            Output.error("molecule-tenant: \(String(describing: error))")
            Glibc.exit(1)
        }
    }
}
