import ArgumentParser
import Installer
import Upgrades

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the installed tenant's services, version, health, registration and pending migrations.",
        discussion: """
            Examples:
              molecule-tenant status
              molecule-tenant status --json
            """
    )
    @OptionGroup var global: GlobalOptions
    @Option(help: .hidden) var root: String = "/"

    func run() async throws {
        let context = try CommandContext.prepare(global, label: "status")
        let status = TenantStatus.collect(HostFiles(root: root))
        if global.json {
            try context.emit(status)
            return
        }
        context.say("molecule-tenant: \(status.installed ? "installed" : "not installed")")
        context.say("  binary:       \(status.installedVersion ?? "not installed") (running \(status.version))")
        for (unit, state) in status.units.sorted(by: { $0.key < $1.key }) {
            context.say("  \(unit.padded(30)) \(state.active), \(state.enabled)")
        }
        context.say("  health:       plugin \(status.health.plugin), server \(status.health.server)")
        let registration = status.registration
        context.say("  platform:     " + (registration.registered
            ? "registered with \(registration.platformURL ?? "?") as org \(registration.orgID ?? "?")"
            : (registration.platformURL.map { "not registered (platform \($0))" } ?? "standalone")))
        context.say("  migrations:   " + (status.migrations.pending.map { "\($0) pending" } ?? (status.migrations.detail ?? "unknown")))
        context.say("  upgrades:     " + Self.describe(status.upgrades))
    }

    /// One line: the last upgrade, the last timer run, rejected releases.
    static func describe(_ upgrades: TenantStatus.Upgrades) -> String {
        if let detail = upgrades.detail { return detail }
        var parts: [String] = []
        if let last = upgrades.lastUpgrade {
            parts.append("last \(last.from ?? "none") -> \(last.to) \(last.outcome) at \(last.finishedAt)")
        }
        if let auto = upgrades.lastAutoUpdate { parts.append("timer \(auto.outcome) at \(auto.at)") }
        if !upgrades.rejected.isEmpty { parts.append("rejected here: \(upgrades.rejected.joined(separator: ", "))") }
        return parts.isEmpty ? "none yet" : parts.joined(separator: "; ")
    }
}
