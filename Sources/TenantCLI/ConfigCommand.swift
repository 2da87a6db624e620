import ArgumentParser
import Installer

#if canImport(Glibc)
import Glibc
#endif

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Work with this install's configuration.",
        subcommands: [Sync.self]
    )

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sync",
            abstract: "Fetch the platform's config for this tenant and apply new values to tenant.env and secrets.env.",
            discussion: """
                GET {MOLECULE_PLATFORM_URL}/cp/tenants/config with the shared secret from registration \
                (docs/platform-protocol.md). New values are written and reach the services that read \
                them by a handover to a fresh process (no downtime; units written by an older install \
                are restarted instead), which must come up healthy; otherwise the previous files are \
                restored.

                Example:
                  sudo molecule-tenant config sync
                """
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: "Seconds to wait for the services to report healthy after a restart.") var healthTimeout: Int = 90
        @Option(help: .hidden) var root: String = "/"

        /// What a sync works on: the host's files, its remembered install inputs, a log.
        static func context(_ files: HostFiles, log command: String) -> InstallContext {
            InstallContext(files: files, platform: Platform.supported[0], inputs: InstallInputs.load(files) ?? InstallInputs(),
                           secrets: InstallSecrets(), binaryPath: BinaryStep.path, canQueryHost: files.root == "/",
                           log: InstallLog(files: files, command: command))
        }

        struct Result: Encodable {
            let event = "result"
            let changed: [String]
            let ignored: [String]
            let restarted: [String]
            let targetVersion: String?

            enum CodingKeys: String, CodingKey {
                case event, changed, ignored, restarted
                case targetVersion = "target_version"
            }
        }

        func run() async throws {
            let context = try CommandContext.prepare(global, label: "config-sync")
            guard getuid() == 0 else { throw CLIFailure("config sync must run as root: run it again with sudo") }
            let result: ConfigSync.Result
            do {
                result = try await ConfigSync(context: Self.context(HostFiles(root: root), log: "config-sync")).run(healthWait: Double(healthTimeout))
            } catch {
                throw CLIFailure(error.description)
            }
            if global.json {
                try context.emit(Result(changed: result.changed, ignored: result.ignored, restarted: result.restarted, targetVersion: result.targetVersion))
                return
            }
            // Names only: values may be secrets.
            let how = result.handedOver ? "handed over, no downtime" : "restarted"
            context.say(result.changed.isEmpty ? "config sync: nothing new"
                : "config sync: updated \(result.changed.joined(separator: ", ")); \(how): \(result.restarted.joined(separator: ", "))")
            if !result.ignored.isEmpty { context.say("ignored (managed by install): \(result.ignored.joined(separator: ", "))") }
            if let version = result.targetVersion { context.say("the platform asks for version \(version) (molecule-tenant upgrade applies it)") }
        }
    }
}
