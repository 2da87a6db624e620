import ArgumentParser
import Installer
import Releases
import TenantConfig
import Upgrades

#if canImport(Glibc)
import Glibc
#endif

struct UpgradeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upgrade",
        abstract: "Upgrade to a signed release with zero downtime; rolls back by itself if the health gate fails.",
        discussion: """
            Fetches the release (the channel's, --to V, or --bundle FILE), checks its Ed25519 signature \
            and checksum, checks the new binary runs and that every variable its manifest requires is \
            set (else names them and `molecule-tenant config sync`), applies its migrations, hands the \
            memory plugin and the server over to it on their listening sockets, and waits until both \
            serve it healthily. If they do not, it goes back to the previous release, marks the new one \
            rejected on this host, and exits 1. Outcomes go to /var/lib/molecule-tenant/upgrades.json; \
            each upgrade or rollback run by hand also writes its redacted log to \
            /var/log/molecule-tenant/upgrade-<time>.log (the timer's runs log to the journal). \
            With --json, every step is one NDJSON line on stdout, and a run that fails ends with \
            {"event":"failed","message":...,"rolled_back":...}.

            Releases come from MOLECULE_RELEASE_URL (file://, http:// or https://): \
            channels/<name>.json and molecule-tenant-<version>-linux-<arch>.tar.gz (+ .sig).

            Exit codes: 0 done (or already current), 1 failed or rolled back, 2 usage, or with --check: an upgrade is available.

            Examples:
              sudo molecule-tenant upgrade --check
              sudo molecule-tenant upgrade --to 1.2.0
              sudo molecule-tenant upgrade --bundle molecule-tenant-1.2.0-linux-amd64.tar.gz
              sudo molecule-tenant upgrade --rollback
            """
    )
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Exit 2 when an upgrade is available, 0 when current.") var check = false
    @Option(help: "Upgrade to this version.") var to: String?
    @Option(help: ArgumentHelp("Upgrade from this bundle file (its .sig beside it).", valueName: "FILE")) var bundle: String?
    @Option(help: "Release channel (default: stable).") var channel: String?
    @Flag(help: "Return to the release this one replaced.") var rollback = false
    @Flag(help: "Install even when the bundle is unsigned or not signed by a trusted key.") var allowUnsigned = false
    @Flag(help: "What the auto-update timer runs: honours AUTO_UPDATE and UPDATE_WINDOW, follows the platform's target_version or else the channel, never retries a release rejected here, reports to the platform.") var auto = false
    @Option(help: "Seconds each service has to come up healthy on the new release.") var gateTimeout: Int = 120

    func validate() throws {
        let sources = [to != nil, bundle != nil, rollback].filter { $0 }.count
        guard sources <= 1 else { throw ValidationError("use one of --to, --bundle and --rollback") }
        guard !(check && sources > 0) else { throw ValidationError("--check compares with the channel; it takes no --to, --bundle or --rollback") }
        guard !(auto && (check || sources > 0)) else { throw ValidationError("--auto decides what to install itself; it takes no --check, --to, --bundle or --rollback") }
        guard gateTimeout >= 1 else { throw ValidationError("--gate-timeout must be at least 1 second") }
    }

    func run() async throws {
        let context = try CommandContext.prepare(global, label: "upgrade")
        // Tests run the whole upgrade in a directory; a real host has no prefix and uses systemd.
        let layout = HostLayout(root: context.environment["MOLECULE_TENANT_ROOT"] ?? "")
        let installed = try? InstalledConfig.load(layout)
        var settings = Upgrader.Settings(releaseURL: context.environment["MOLECULE_RELEASE_URL"] ?? installed?.values["MOLECULE_RELEASE_URL"])
        settings.allowUnsigned = allowUnsigned
        settings.gateTimeout = .seconds(gateTimeout)
        settings.skipRejected = auto
        let json = global.json
        let quiet = global.quiet
        let log = check || auto ? nil : Self.openLog(layout, command: rollback ? "upgrade-rollback" : "upgrade")
        let emit: @Sendable (UpgradeEvent) -> Void = { event in
            if !event.transient { log?.line("\(event.event): \(event.message)") }
            UpgradeCommand.show(event, json: json, quiet: quiet)
        }
        let upgrader = Upgrader(
            layout: layout, control: layout.usesSystemd ? SystemdControl() : PIDFileControl(layout: layout), settings: settings, emit: emit)
        let channelName = channel ?? installed?.values["MOLECULE_RELEASE_CHANNEL"] ?? "stable"
        // The timer syncs once it may act, and hands the services over when something changed.
        if !check && !rollback && !auto { await Self.syncConfig(layout, handOver: false, emit: emit) }
        do {
            if check {
                let (current, available, newer) = try upgrader.check(channel: channelName)
                if json {
                    try context.emit(CheckReport(current: current, available: available, upgradeAvailable: newer))
                } else {
                    context.say(newer ? "\(available) is available (this host runs \(current ?? "no release"))" : "up to date (\(current ?? available))")
                }
                if newer { throw ExitCode(2) }
                return
            }
            if auto {
                try await runAutomatically(upgrader, installed: installed, environment: context.environment,
                                           syncConfig: { await UpgradeCommand.syncConfig(layout, handOver: true, emit: emit) })
                return
            }
            if rollback {
                try await upgrader.rollback()
            } else if let bundle {
                try await upgrader.upgrade(.bundle(bundle))
            } else if let to {
                try await upgrader.upgrade(.version(to))
            } else {
                try await upgrader.upgrade(.channel(channelName))
            }
        } catch let failure as UpgradeFailure {
            throw failed(failure.description, rolledBack: failure.rolledBack, log: log)
        } catch let error as ReleaseError {
            throw failed(error.description, rolledBack: false, log: log)
        } catch let failure as CLIFailure {
            throw failed(failure.description, rolledBack: false, log: log)
        }
        TerminalProgress.shared.clear()
        log?.line("finished")
    }

    /// DESIGN section 8: config sync at upgrade, when the tenant has a platform. By hand
    /// (`handOver` false): new values are written before the preflight and nothing restarts,
    /// so a release that needs a new setting finds it and its processes start with it. The
    /// timer's run (`handOver` true): the services that read a changed value are also handed
    /// over to fresh processes where the units pass the env files on at reload (no
    /// downtime), so the platform's config arrives within one timer period even when no
    /// release is due; units from an older install are never restarted by the timer. A
    /// platform that cannot be reached stops neither; the preflight names what is missing.
    static func syncConfig(_ layout: HostLayout, handOver: Bool, emit: (UpgradeEvent) -> Void) async {
        let files = HostFiles(layout)
        guard ConfigSync.hasPlatform(files) else { return }
        let sync = ConfigSync(context: ConfigCommand.Sync.context(files, log: handOver ? "config-sync-timer" : "config-sync-upgrade"))
        do {
            // Names only: values may be secrets.
            if handOver {
                let result = try await sync.run(healthWait: 120, restart: false)
                guard !result.changed.isEmpty else { return }
                let reached = result.handedOver ? "handed over \(result.restarted.joined(separator: ", "))"
                    : "the services take them at the next upgrade (units from an older install are not restarted by the timer)"
                emit(.init("config", "config sync: wrote \(result.changed.joined(separator: ", ")); \(reached)"))
            } else {
                let result = try sync.writeOnly()
                emit(.init("config", result.changed.isEmpty ? "config sync: nothing new from the platform"
                    : "config sync: wrote \(result.changed.joined(separator: ", ")) (the new processes start with them)"))
            }
        } catch {
            emit(.init("config", "config sync \(handOver ? "failed" : "skipped"): \(error.description)"))
        }
    }

    /// The end of a failed run: the log's last line, the closing NDJSON event with --json,
    /// and the one readable line on stderr (which names the log).
    private func failed(_ reason: String, rolledBack: Bool, log: InstallLog?) -> CLIFailure {
        TerminalProgress.shared.clear()
        log?.line("failed\(rolledBack ? " (rolled back)" : ""): \(reason)")
        if global.json {
            Output.standard(#"{"event":"failed","message":"\#(Self.jsonEscaped(reason))","rolled_back":\#(rolledBack)}"#)
        }
        return CLIFailure(log?.path.map { "\(reason) (log: \($0))" } ?? reason)
    }

    /// The redacted log of a run by hand under /var/log/molecule-tenant/, told every value in
    /// secrets.env; nil where it cannot be written (not root, or a test root without it).
    private static func openLog(_ layout: HostLayout, command: String) -> InstallLog? {
        let files = HostFiles(layout)
        let log = InstallLog(files: files, command: command)
        guard log.path != nil else { return nil }
        ConfigStep.registerSecrets(files, log: log)
        log.line("molecule-tenant \(CommandLine.arguments.dropFirst().joined(separator: " "))")
        return log
    }

    /// One timer run: settings from the installed config, overridden by the environment.
    private func runAutomatically(_ upgrader: Upgrader, installed: InstalledConfig?, environment: TenantEnvironment,
                                  syncConfig: @escaping @Sendable () async -> Void) async throws {
        var values = installed?.values ?? [:]
        for name in ["AUTO_UPDATE", "UPDATE_WINDOW", "MOLECULE_RELEASE_CHANNEL", "MOLECULE_PLATFORM_URL", "MOLECULE_CP_URL",
                     "MOLECULE_ORG_ID", "MOLECULE_CP_SHARED_SECRET"] {
            if let value = environment[name] { values[name] = value }
        }
        if let channel { values["MOLECULE_RELEASE_CHANNEL"] = channel }
        let settings: AutoUpdateSettings
        do {
            settings = try AutoUpdateSettings(values: values, platform: try AutoUpdatePlatform.from(values))
        } catch {
            throw CLIFailure(error.description)
        }
        let result = await AutoUpdate(upgrader: upgrader, settings: settings, syncConfig: syncConfig).run()
        if let problem = result.reportProblem { Output.error("the status report to the platform failed: \(problem)") }
        if result.outcome == .failed { throw CLIFailure(result.reason ?? "the automatic upgrade failed") }
    }

    /// Progress: one line per step for people (stderr stays free for errors), with the
    /// current step's progress in place on a terminal; NDJSON with --json (steps only).
    static func show(_ event: UpgradeEvent, json: Bool, quiet: Bool) {
        if json {
            guard !event.transient else { return }
            let version = event.version.map { #","version":"\#($0)""# } ?? ""
            let service = event.service.map { #","service":"\#($0)""# } ?? ""
            Output.standard(#"{"event":"\#(event.event)","message":"\#(jsonEscaped(event.message))"\#(version)\#(service)}"#)
        } else if !quiet {
            if event.transient {
                TerminalProgress.shared.progress(event.message)
            } else {
                TerminalProgress.shared.step(event.message)
            }
        }
    }

    private static func jsonEscaped(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case _ where scalar.value < 0x20: out += "\\u" + String(repeating: "0", count: 4 - String(scalar.value, radix: 16).count) + String(scalar.value, radix: 16)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}

private struct CheckReport: Encodable {
    let current: String?
    let available: String
    let upgradeAvailable: Bool

    enum CodingKeys: String, CodingKey {
        case current, available
        case upgradeAvailable = "upgrade_available"
    }
}
