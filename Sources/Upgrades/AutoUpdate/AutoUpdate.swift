import Releases
import Timestamps

/// One run of the auto-update timer (`upgrade --auto`): decide whether to move and where
/// (the platform's `target_version` wins over the channel), upgrade through `Upgrader`,
/// record how the run ended in upgrades.json, and report to the platform.
public struct AutoUpdate: Sendable {
    public enum Outcome: String, Sendable {
        /// AUTO_UPDATE=0.
        case disabled
        /// Now is outside UPDATE_WINDOW.
        case outsideWindow = "outside_window"
        /// Already on the release to follow (or the channel's is not newer).
        case current
        /// The release to follow failed its health gate here before: never again.
        case skipped
        case upgraded
        /// Refused, failed or rolled back (the reason says which); exit 1.
        case failed
        /// A platform is configured but its config could not be read: no move this run, so a
        /// pinned rollout is never overtaken by the channel.
        case platformUnreachable = "platform_unreachable"
        /// Neither a platform target nor MOLECULE_RELEASE_URL.
        case nothingToFollow = "nothing_to_follow"
    }

    public struct Result: Sendable {
        public let outcome: Outcome
        public let target: String?
        public let reason: String?
        /// Why the status report failed, when it did (the run's outcome stands).
        public let reportProblem: String?
    }

    let upgrader: Upgrader
    let settings: AutoUpdateSettings
    let now: @Sendable () -> Int
    /// Runs once the run may act (AUTO_UPDATE on, inside UPDATE_WINDOW), before it decides
    /// where to go: the CLI's config sync (DESIGN section 8), so the platform's new values
    /// are on the host before a release that needs them is checked.
    let syncConfig: @Sendable () async -> Void

    /// `now`: seconds since the epoch (tests pass a fixed time for UPDATE_WINDOW).
    public init(upgrader: Upgrader, settings: AutoUpdateSettings, now: @escaping @Sendable () -> Int = { Int(Timestamp.now().microseconds / 1_000_000) },
                syncConfig: @escaping @Sendable () async -> Void = {}) {
        self.upgrader = upgrader
        self.settings = settings
        self.now = now
        self.syncConfig = syncConfig
    }

    var layout: HostLayout { upgrader.layout }
    var emit: @Sendable (UpgradeEvent) -> Void { upgrader.emit }

    public func run() async -> Result {
        let (outcome, target, reason) = await decideAndMove()
        emit(.init("auto", reason.map { "\(outcome.rawValue): \($0)" } ?? outcome.rawValue, version: target))
        record(outcome, target: target, reason: reason)
        return Result(outcome: outcome, target: target, reason: reason, reportProblem: report())
    }

    private func decideAndMove() async -> (Outcome, String?, String?) {
        guard settings.enabled else { return (.disabled, nil, "AUTO_UPDATE=0: automatic upgrades are off") }
        if let window = settings.window, !window.contains(time: now()) {
            return (.outsideWindow, nil, "outside UPDATE_WINDOW \(window) (local time)")
        }
        if settings.platform != nil { await syncConfig() }
        let current = upgrader.releases.installedVersion()
        let rejected = (try? UpgradeLedger.load(layout.upgradesFile))?.rejected ?? []
        if let platform = settings.platform {
            let pinned: String?
            do {
                pinned = try platform.targetVersion()
            } catch {
                return (.platformUnreachable, nil, "\(error)")
            }
            if let pinned {
                // The platform coordinates the rollout, back as well as forward.
                if pinned == current { return (.current, pinned, "on \(pinned), the platform's target_version") }
                if rejected.contains(pinned) { return (.skipped, pinned, "\(pinned) failed its health gate on this host before; not trying it again") }
                return await move(.version(pinned), target: pinned)
            }
        }
        guard upgrader.settings.releaseURL.map({ !$0.isEmpty }) == true else {
            return (.nothingToFollow, nil, "no platform target_version and no MOLECULE_RELEASE_URL")
        }
        let available: String
        let newer: Bool
        do {
            (_, available, newer) = try upgrader.check(channel: settings.channel)
        } catch {
            return (.failed, nil, "cannot read the \(settings.channel) channel: \(error)")
        }
        guard newer else { return (.current, available, "the \(settings.channel) channel's release is \(available), this host runs \(current ?? "none")") }
        if rejected.contains(available) { return (.skipped, available, "\(available) failed its health gate on this host before; not trying it again") }
        return await move(.channel(settings.channel), target: available)
    }

    private func move(_ source: Upgrader.Source, target: String) async -> (Outcome, String?, String?) {
        do {
            let serving = try await upgrader.upgrade(source)
            return serving == target ? (.upgraded, target, "now serving \(target)") : (.current, target, "still serving \(serving)")
        } catch {
            return (.failed, target, "\(error)")
        }
    }

    private func record(_ outcome: Outcome, target: String?, reason: String?) {
        // Under the upgrade lock: an operator's upgrade may be saving the ledger too.
        guard let lock = try? UpgradeLock(layout: layout) else { return }
        defer { withExtendedLifetime(lock) {} }
        guard var ledger = try? UpgradeLedger.load(layout.upgradesFile) else { return }
        ledger.lastAutoUpdate = .init(at: Timestamp.now().rfc3339, outcome: outcome.rawValue, target: target, reason: reason)
        try? ledger.save(layout.upgradesFile)
    }

    /// Reports to the platform, if there is one; returns what went wrong.
    private func report() -> String? {
        guard let platform = settings.platform else { return nil }
        let config = (try? InstalledConfig.load(layout)) ?? InstalledConfig(values: [:])
        let status = TenantStatusReport(version: upgrader.releases.installedVersion(), health: TenantStatusReport.health(config),
                                        lastUpgrade: (try? UpgradeLedger.load(layout.upgradesFile))?.lastUpgrade)
        do {
            try platform.report(status)
            emit(.init("reported", "reported \(status.version ?? "no release") (\(status.health)) to \(platform.baseURL)", version: status.version))
            return nil
        } catch {
            return "\(error)"
        }
    }
}
