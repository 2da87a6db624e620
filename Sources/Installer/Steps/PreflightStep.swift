#if canImport(Glibc)
import Glibc
#endif

/// Checks the host before anything changes. Each failure is one line that says what to
/// do; `--force` turns the RAM and disk floors into warnings (nothing else).
public struct PreflightStep: InstallStep {
    public let name = "preflight"
    public let title = "Check this host"
    public var force = false
    /// A plan may run as a normal user; it changes nothing.
    public var planOnly = false

    static let minimumMemoryMiB = 1024
    static let minimumDiskMiB = 2048
    static let ports: [(port: Int, what: String)] = [(8080, "server"), (9100, "memory plugin"), (5432, "PostgreSQL"), (6379, "Redis")]

    public init(force: Bool = false, planOnly: Bool = false) {
        self.force = force
        self.planOnly = planOnly
    }

    public func check(_ context: InstallContext) async throws(InstallError) -> StepCheck {
        var problems: [String] = []
        var notes = ["\(context.platform.name) (\(HostResources.architecture()))"]
        let files = context.files

        if !planOnly && getuid() != 0 {
            problems.append("install must run as root: run it again with sudo")
        }
        let architecture = HostResources.architecture()
        if architecture != "amd64" && architecture != "arm64" {
            problems.append("architecture \(architecture) is not supported: use amd64 or arm64")
        }
        if !files.isDirectory("/run/systemd/system") {
            problems.append("systemd is not running as init on this host: install needs systemd (for containers use compose/ or `molecule-tenant run`)")
        }

        let floors = [
            ("memory", HostResources.memoryMiB(files), Self.minimumMemoryMiB),
            ("free disk under /var/lib", HostResources.freeDiskMiB(files), Self.minimumDiskMiB),
        ]
        for (what, measured, floor) in floors {
            guard let measured else { notes.append("\(what): unknown"); continue }
            notes.append("\(what): \(measured) MiB (needs \(floor) MiB)")
            if measured < floor {
                let line = "\(what) is \(measured) MiB, below the \(floor) MiB floor: use a larger host, or pass --force to install anyway"
                if force { notes.append("warning: " + line) } else { problems.append(line) }
            }
        }

        problems += portProblems(context)
        if DpkgLock.isHeld(files) { notes.append("dpkg is busy (another apt run); the packages step waits up to 5 minutes") }
        guard problems.isEmpty else { throw .preflight(problems) }
        return StepCheck(notes: notes)
    }

    /// Ports 8080/9100/5432/6379: free, or held by what this install runs. A PostgreSQL or
    /// Redis this installer did not set up is adopted only when given its URL.
    func portProblems(_ context: InstallContext) -> [String] {
        let ports = ListeningPorts(files: context.files)
        let packages = DpkgStatus.read(context.files)
        let ours = context.files.exists(InstallInputs.path)
        var problems: [String] = []
        let serverPort = context.inputs.port
        for (port, what) in [(serverPort, "server")] + Self.ports.filter({ $0.port != 8080 }) {
            if port == 5432 && context.inputs.externalDatabase { continue }
            if port == 6379 && context.inputs.externalRedis { continue }
            guard let holder = ports.holder(of: port) else { continue }
            let command = holder.command ?? ""
            switch port {
            case serverPort, 9100:
                if command == "molecule-tenant" { continue }
                problems.append("port \(port) (the \(what)) is held by \(holder.description): stop it, or choose another port with --port")
            case 5432:
                if ours && command.hasPrefix("postgres") { continue }
                problems.append("a PostgreSQL server already listens on 5432 (\(holder.description)): use it with --database-url URL, or stop it")
            default:
                if ours && (command.hasPrefix("redis") || command.hasPrefix("valkey")) { continue }
                problems.append("a Redis server already listens on 6379 (\(holder.description)): use it with --redis-url URL, or stop it")
            }
        }
        // Installed but not running is foreign too, unless an earlier run of ours installed it.
        if !ours {
            let postgres = packages.states.keys.filter { $0.hasPrefix("postgresql-") && $0.dropFirst(11).allSatisfy(\.isNumber) && packages.isInstalled($0) }
            if !context.inputs.externalDatabase, !postgres.isEmpty, !ports.isListening(5432) {
                problems.append("PostgreSQL (\(postgres.sorted().joined(separator: ", "))) is already installed here: use it with --database-url URL, or remove it")
            }
            let redis = ["redis-server", "valkey-server"].filter(packages.isInstalled)
            if !context.inputs.externalRedis, !redis.isEmpty, !ports.isListening(6379) {
                problems.append("\(redis.joined(separator: ", ")) is already installed here: use it with --redis-url URL, or remove it")
            }
        }
        return problems
    }

    public func apply(_ context: InstallContext, _ check: StepCheck) async throws(InstallError) {}
}
