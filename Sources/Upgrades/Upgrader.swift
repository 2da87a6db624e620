import Releases
import TenantCrypto
import Timestamps

#if canImport(Glibc)
import Glibc
#endif

/// `upgrade`: fetch, verify, preflight, migrate, hand over, gate, and roll back by itself
/// when the gate fails (DESIGN section 12, docs/upgrading.md).
public struct Upgrader: Sendable {
    public enum Source: Sendable {
        /// The channel's release (`MOLECULE_RELEASE_URL/channels/<name>.json`).
        case channel(String)
        /// `MOLECULE_RELEASE_URL/molecule-tenant-<version>-linux-<arch>.tar.gz`.
        case version(String)
        /// A bundle file with its `.sig` beside it.
        case bundle(String)
    }

    public struct Settings: Sendable {
        public var releaseURL: String?
        public var allowUnsigned = false
        /// How long each service has to come up healthy on the new release.
        public var gateTimeout: Duration = .seconds(120)
        /// `--auto`: skip versions rejected on this host.
        public var skipRejected = false

        public init(releaseURL: String?) { self.releaseURL = releaseURL }
    }

    let layout: HostLayout
    let control: any ServiceControl
    let settings: Settings
    let emit: @Sendable (UpgradeEvent) -> Void
    let fetcher = ReleaseFetcher()

    public init(layout: HostLayout, control: any ServiceControl, settings: Settings, emit: @escaping @Sendable (UpgradeEvent) -> Void) {
        self.layout = layout
        self.control = control
        self.settings = settings
        self.emit = emit
    }

    public var releases: InstalledReleases { InstalledReleases(layout: layout) }

    /// The channel's version and whether it is newer than the one installed.
    public func check(channel: String) throws -> (current: String?, available: String, newer: Bool) {
        let published = try ReleaseChannel.fetch(releaseURL: try releaseURL(), name: channel, fetcher: fetcher)
        let current = releases.installedVersion()
        let newer = current.flatMap(ReleaseVersion.init).map { old in ReleaseVersion(published.version).map { $0 > old } ?? false } ?? true
        return (current, published.version, newer)
    }

    /// Runs the whole upgrade; returns the version now serving.
    @discardableResult
    public func upgrade(_ source: Source) async throws -> String {
        let lock = try UpgradeLock(layout: layout)
        defer { withExtendedLifetime(lock) {} }
        let started = Timestamp.now().rfc3339
        var ledger = try UpgradeLedger.load(layout.upgradesFile)
        let current = releases.installedVersion()

        let contents: BundleContents
        // What the ledger names: the source until the bundle says which version it holds.
        var attempted = versionHint(source)
        do {
            guard let fetched = try acquire(source, current: current, ledger: ledger) else { return current ?? "" }
            contents = fetched
            attempted = contents.manifest.version
            try preflight(contents, current: current)
            try checkServices()
        } catch {
            ledger.record(.init(from: current, to: attempted, outcome: "refused", reason: "\(error)", startedAt: started,
                                finishedAt: Timestamp.now().rfc3339))
            try? ledger.save(layout.upgradesFile)
            throw error
        }
        let target = contents.manifest.version
        do {
            try adoptPlainBinary()
            try migrate(target)
            try await switchOver(to: target, from: current)
        } catch let failure as UpgradeFailure {
            let outcome = failure.rolledBack ? "rolled_back" : failure.rollbackFailed ? "rollback_failed" : "failed"
            ledger.record(.init(from: current, to: target, outcome: outcome, reason: failure.description,
                                startedAt: started, finishedAt: Timestamp.now().rfc3339))
            try? ledger.save(layout.upgradesFile)
            throw failure
        }
        ledger.record(.init(from: current, to: target, outcome: "succeeded", reason: nil, startedAt: started, finishedAt: Timestamp.now().rfc3339))
        try ledger.save(layout.upgradesFile)
        releases.prune(keeping: [target] + (current.map { [$0] } ?? []), rejected: ledger.rejected)
        emit(.init("done", "now serving \(target)", version: target))
        return target
    }

    /// Back to the release this one replaced (no download, no migrations: they are expand-only).
    @discardableResult
    public func rollback() async throws -> String {
        let lock = try UpgradeLock(layout: layout)
        defer { withExtendedLifetime(lock) {} }
        let started = Timestamp.now().rfc3339
        var ledger = try UpgradeLedger.load(layout.upgradesFile)
        guard let current = releases.current() else { throw UpgradeFailure("no release is installed at \(layout.binaryLink)") }
        guard let previous = ledger.history.last(where: { $0.outcome == "succeeded" && $0.to == current })?.from,
              releases.has(previous) else {
            throw UpgradeFailure("no earlier release to roll back to (upgrades.json names none that is still in \(layout.releases))")
        }
        try checkServices()
        emit(.init("rollback", "rolling back from \(current) to \(previous)", version: previous))
        do {
            try await switchOver(to: previous, from: current)
        } catch let failure as UpgradeFailure {
            ledger.record(.init(from: current, to: previous, outcome: "failed", reason: failure.description, startedAt: started,
                                finishedAt: Timestamp.now().rfc3339))
            try? ledger.save(layout.upgradesFile)
            throw failure
        }
        ledger.record(.init(from: current, to: previous, outcome: "succeeded", reason: "rollback", startedAt: started, finishedAt: Timestamp.now().rfc3339))
        try ledger.save(layout.upgradesFile)
        emit(.init("done", "now serving \(previous)", version: previous))
        return previous
    }

    /// Hands each service over to a new process of the release it runs (`systemctl reload`)
    /// and waits until it serves healthily: how new values in the env files reach running
    /// services without a restart (`config sync`; the units' reload command passes the files
    /// as they are now to the successor). Throws when one does not come up; that service's
    /// old process serves on.
    public func reloadInPlace(_ services: [TenantService]) async throws {
        let lock = try UpgradeLock(layout: layout)
        defer { withExtendedLifetime(lock) {} }
        let config = try InstalledConfig.load(layout)
        try checkServices()
        for service in services {
            let probe = config.probe(service)
            guard let version = probe.read()?.version else {
                throw UpgradeFailure("the \(service.rawValue) does not answer its health check", hostProblem: true)
            }
            try await handOver(service, to: version, config: config)
        }
    }

    // MARK: - Steps

    private func releaseURL() throws -> String {
        guard let url = settings.releaseURL, !url.isEmpty else {
            throw UpgradeFailure("MOLECULE_RELEASE_URL is not set: set it in /etc/molecule-tenant/tenant.env, or use --bundle FILE")
        }
        return url
    }

    private func versionHint(_ source: Source) -> String {
        switch source {
        case .channel(let name): "channel:\(name)"
        case .version(let version): version
        case .bundle(let path): path.split(separator: "/").last.map(String.init) ?? path
        }
    }

    /// The verified bundle to install, or nil when there is nothing to do.
    private func acquire(_ source: Source, current: String?, ledger: UpgradeLedger) throws -> BundleContents? {
        let path: String
        var expectedSHA: String?
        switch source {
        case .bundle(let file):
            path = file
        case .version(let version):
            try VersionStamp.validate(version)
            path = try download(ReleaseChannel.joined(try releaseURL(), ReleaseArchitecture.bundleName(version: version, architecture: ReleaseArchitecture.host)))
        case .channel(let name):
            let published = try ReleaseChannel.fetch(releaseURL: try releaseURL(), name: name, fetcher: fetcher)
            if published.version == current {
                emit(.init("current", "already on \(published.version), the \(name) channel's release", version: published.version))
                return nil
            }
            if settings.skipRejected && ledger.rejected.contains(published.version) {
                emit(.init("skipped", "\(published.version) failed its health gate on this host before; not trying it again", version: published.version))
                return nil
            }
            expectedSHA = published.sha256
            path = try download(published.bundleURL(releaseURL: try releaseURL()))
        }
        emit(.init("verify", "checking the signature of \(path)"))
        let verifier = SignatureVerifier(trustedKeys: try TrustedKeys.load(directory: layout.trustedKeys))
        let (tarball, acceptance) = try verifier.load(path, allowUnsigned: settings.allowUnsigned)
        switch acceptance {
        case .signed(let fingerprint): emit(.init("verified", "signed by trusted key \(fingerprint)"))
        case .allowedUnsigned(let reason): emit(.init("unsigned", "installing anyway (--allow-unsigned): \(reason)"))
        }
        if let expectedSHA, Hex.encode(SHA256.hash(tarball)) != expectedSHA.lowercased() {
            throw UpgradeFailure("the downloaded bundle's sha256 differs from the channel's: refusing it")
        }
        let contents = try BundleReader.read(tarball)
        if case .version(let wanted) = source, contents.manifest.version != wanted {
            throw UpgradeFailure("the bundle for \(wanted) holds version \(contents.manifest.version)")
        }
        if contents.manifest.version == current {
            emit(.init("current", "already on \(current ?? "")", version: current))
            return nil
        }
        if settings.skipRejected && ledger.rejected.contains(contents.manifest.version) {
            emit(.init("skipped", "\(contents.manifest.version) failed its health gate on this host before", version: contents.manifest.version))
            return nil
        }
        return contents
    }

    static func megabytes(_ bytes: Int) -> String {
        let tenths = (bytes * 10 + (1 << 19)) >> 20
        return "\(tenths / 10).\(tenths % 10) MB"
    }

    private func download(_ location: String) throws -> String {
        let name = location.split(separator: "/").last.map(String.init) ?? "bundle.tar.gz"
        try FileBytes.makeDirectories(layout.downloads)
        let path = layout.downloads + "/" + name
        emit(.init("fetch", "fetching \(location)"))
        let emit = self.emit
        try fetcher.download(location, to: path) { bytes in
            emit(.progress("fetched \(Self.megabytes(bytes)) of \(name)"))
        }
        // A missing signature is not an error here: verification refuses unsigned bundles.
        try? fetcher.download(location + ".sig", to: path + ".sig", limit: 4096)
        return path
    }

    /// The new binary runs on this host and reports its version; the config it requires is set.
    private func preflight(_ contents: BundleContents, current: String?) throws {
        let manifest = contents.manifest
        guard ReleaseArchitecture.of(contents.binary) == ReleaseArchitecture.host else {
            throw UpgradeFailure("the bundle is for \(ReleaseArchitecture.of(contents.binary) ?? "another platform"), this host is \(ReleaseArchitecture.host)")
        }
        if let minimum = manifest.minUpgradeFrom.flatMap(ReleaseVersion.init), let installed = current.flatMap(ReleaseVersion.init), installed < minimum {
            throw UpgradeFailure("\(manifest.version) upgrades only from \(minimum) or later; this host runs \(installed): upgrade to \(minimum) first")
        }
        let missing = try InstalledConfig.load(layout).missing(manifest.requiredConfig)
        guard missing.isEmpty else {
            let names = missing.joined(separator: ", ")
            throw UpgradeFailure("\(manifest.version) needs \(names), not set in \(layout.config)/tenant.env or secrets.env: "
                + "run `molecule-tenant config sync` to fetch \(missing.count == 1 ? "it" : "them") from the platform "
                + "(or set \(missing.count == 1 ? "it" : "them") by hand), then upgrade again")
        }
        try releases.install(contents)
        let binary = layout.releaseBinary(manifest.version)
        let outcome = try ChildCommand.run([binary, "--version"], timeout: .seconds(30))
        guard outcome.status == 0, VersionReport(outcome.output.trimmingWhitespace())?.version == manifest.version else {
            throw UpgradeFailure("the new binary does not run on this host (\(binary) --version said: \(outcome.output.trimmingWhitespace()))")
        }
        emit(.init("preflight", "\(manifest.version) runs here and its required config is set", version: manifest.version))
    }

    /// Both services run and can be asked to hand over, before anything changes.
    private func checkServices() throws {
        let problems = TenantService.allCases.compactMap { control.handOverProblem($0) }
        guard problems.isEmpty else { throw UpgradeFailure(problems.joined(separator: "; ") + "; nothing was changed", hostProblem: true) }
    }

    /// `install` puts a plain binary where the symlink goes: make it the release to roll back to.
    private func adoptPlainBinary() throws {
        do {
            guard let adopted = try releases.adoptPlainBinary() else { return }
            emit(.init("adopt", "\(layout.binaryLink) was a plain binary; it is now release \(adopted) in \(layout.releases)", version: adopted))
        } catch {
            throw UpgradeFailure("cannot keep the installed binary as a release to roll back to, nothing was switched: \(error)")
        }
    }

    /// The account `install` creates for the services.
    static let serviceUser = "molecule"

    private func migrate(_ version: String) throws {
        emit(.init("migrate", "applying \(version)'s migrations (expand-only)", version: version))
        let config = try InstalledConfig.load(layout)
        var environment = ProcessEnvironmentList.current()
        for (key, value) in config.values { environment.append("\(key)=\(value)") }
        var command = [layout.releaseBinary(version), "migrate", "up", "--target", "all", "--config", "/dev/null"]
        // On an installed host the database role is the service user's (peer authentication
        // over the socket): as root, migrate as that user, as install and the services do.
        if getuid() == 0, getpwnam(Self.serviceUser) != nil, access("/usr/sbin/runuser", X_OK) == 0 {
            command = ["/usr/sbin/runuser", "-u", Self.serviceUser, "--"] + command
        }
        let outcome = try ChildCommand.run(command, environment: environment, timeout: .seconds(600))
        guard outcome.status == 0 else {
            throw UpgradeFailure("migrations of \(version) failed, nothing was switched: \(outcome.output.trimmingWhitespace())")
        }
    }

    /// Points the symlink at `target`, hands each service over and gates on health; on
    /// failure puts the symlink and every moved service back on `previous`.
    private func switchOver(to target: String, from previous: String?) async throws {
        let config = try InstalledConfig.load(layout)
        try releases.activate(target)
        var attempted: [TenantService] = []
        do {
            for service in TenantService.allCases {
                attempted.append(service)
                try await handOver(service, to: target, config: config)
            }
        } catch let failure as UpgradeFailure {
            guard let previous else { throw failure }
            emit(.init("rollback", "\(failure.description); going back to \(previous)", version: previous))
            try releases.activate(previous)
            for service in attempted.reversed() {
                // A service whose handover was refused still runs the previous release.
                let probe = config.probe(service)
                if probe.read()?.version == previous { continue }
                do {
                    try await handOver(service, to: previous, config: config)
                } catch {
                    throw UpgradeFailure("\(failure.description); and rolling the \(service.rawValue) back failed too: \(error)",
                                         rollbackFailed: !failure.hostProblem)
                }
            }
            if failure.hostProblem {
                // Not the release's fault: back on the previous one, but not rejected.
                throw UpgradeFailure("the upgrade to \(target) stopped and \(previous) serves again: \(failure.description)", hostProblem: true)
            }
            throw UpgradeFailure("\(target) failed its health gate and was rolled back to \(previous): \(failure.description)", rolledBack: true)
        }
    }

    private func handOver(_ service: TenantService, to version: String, config: InstalledConfig) async throws {
        let probe = config.probe(service)
        guard let old = control.mainPID(service) else { throw UpgradeFailure("the \(service.rawValue) is not running", hostProblem: true) }
        emit(.init("handover", "handing the \(service.rawValue) over to \(version)", version: version, service: service.rawValue))
        let statusBefore = control.handoverStatus(service)
        do {
            try control.handOver(service)
        } catch {
            throw UpgradeFailure("\(error)", hostProblem: true)
        }
        let started = ContinuousClock.now
        let deadline = started + settings.gateTimeout
        var shownSecond: Int64 = -1
        while ContinuousClock.now < deadline {
            let waited = (ContinuousClock.now - started).components.seconds
            if waited > shownSecond {
                shownSecond = waited
                emit(.progress("waiting for the \(service.rawValue) on \(version) to serve healthily: \(waited) s of \(settings.gateTimeout.components.seconds) s"))
            }
            if let pid = control.mainPID(service), pid != old, let reading = probe.read(), reading.healthy, reading.version == version {
                emit(.init("healthy", "the \(service.rawValue) serves \(version) (pid \(pid))", version: version, service: service.rawValue))
                return
            }
            // The old process refused its successor (it exited or never got ready): no use waiting.
            if let status = control.handoverStatus(service), status != statusBefore, status.hasPrefix(handoverRefusedPrefix) {
                throw UpgradeFailure("the \(service.rawValue) on \(version) did not start: \(status) (its log has the details)")
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw UpgradeFailure("the \(service.rawValue) did not come up healthy on \(version) within \(settings.gateTimeout)")
    }
}
