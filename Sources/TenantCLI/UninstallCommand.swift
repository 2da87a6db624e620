import ArgumentParser
import Installer

#if canImport(Glibc)
import Glibc
#endif
import TenantConfig

struct UninstallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uninstall",
        abstract: "Stop and remove the tenant's services and binary; --purge --yes also deletes its data and secrets.",
        discussion: """
            Without --purge the database, /etc/molecule-tenant and /var/lib/molecule-tenant are kept, \
            so `install` brings the same tenant back. --purge drops the database and role, the Redis \
            drop-in, the molecule user, the files and the packages install added; it needs --yes.

            Examples:
              sudo molecule-tenant uninstall
              sudo molecule-tenant uninstall --purge --yes
            """
    )
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Also delete the database, config, secrets, user and the packages install added.") var purge = false
    @Flag(help: "Confirm --purge (there is no prompt).") var yes = false
    @Option(help: .hidden) var root: String = "/"

    func validate() throws {
        if purge && !yes { throw ValidationError("--purge deletes the tenant's data and secrets: add --yes to confirm") }
    }

    func run() async throws {
        let context = try CommandContext.prepare(global, label: "uninstall")
        guard getuid() == 0 else { throw CLIFailure("uninstall must run as root: run it again with sudo") }
        let files = HostFiles(root: root)
        let log = InstallLog(files: files, command: purge ? "uninstall-purge" : "uninstall")
        let installContext = InstallContext(files: files, platform: Platform.supported[0], inputs: InstallInputs.load(files) ?? InstallInputs(),
                                            secrets: InstallSecrets(), binaryPath: BinaryStep.path, canQueryHost: root == "/", log: log)
        ConfigStep.registerSecrets(files, log: log)
        do {
            let done = purge ? try Uninstaller(context: installContext).purge() : try Uninstaller(context: installContext).uninstall()
            if global.json {
                try context.emit(["event": "result", "mode": purge ? "purge" : "uninstall", "done": done.joined(separator: "; ")])
            } else {
                for line in done { context.say(line) }
            }
        } catch {
            throw CLIFailure(String(describing: error))
        }
    }
}
