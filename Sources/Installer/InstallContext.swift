import Synchronization

/// What every step works with: the host (files, commands), the platform, the inputs, and
/// what earlier steps of this run did.
public final class InstallContext: Sendable {
    public let files: HostFiles
    public let platform: Platform
    public let inputs: InstallInputs
    public let secrets: InstallSecrets
    /// This binary, copied to /usr/local/bin by the binary step.
    public let binaryPath: String
    /// False when the host is a test's fake root: checks then assume services and the
    /// database do not exist instead of asking systemd or PostgreSQL.
    public let canQueryHost: Bool
    public let log: InstallLog
    /// Files changed by this run with their previous contents, to restore on a failed gate.
    public let journal = FileJournal()

    private let state = Mutex(RunState())

    struct RunState {
        var servicesStale = false
        var notes: [String] = []
    }

    public init(files: HostFiles, platform: Platform, inputs: InstallInputs, secrets: InstallSecrets,
                binaryPath: String, canQueryHost: Bool, log: InstallLog) {
        self.files = files
        self.platform = platform
        self.inputs = inputs
        self.secrets = secrets
        self.binaryPath = binaryPath
        self.canQueryHost = canQueryHost
        self.log = log
    }

    /// An earlier step changed something the running services read (config, binary, units).
    public func markServicesStale() { state.withLock { $0.servicesStale = true } }
    public var servicesStale: Bool { state.withLock { $0.servicesStale } }

    /// Runs a host command, logging the command line and its (redacted) output.
    @discardableResult
    public func run(_ command: HostCommand) -> HostCommand.Outcome {
        log.line("$ " + command.arguments.joined(separator: " "))
        let started = MonotonicClock.seconds()
        let outcome = command.run()
        let output = outcome.output.split(separator: "\n", omittingEmptySubsequences: true).suffix(200)
        for line in output { log.line("  " + line) }
        log.line("  exit \(outcome.status) after \(Format.seconds(MonotonicClock.seconds() - started))")
        return outcome
    }

    /// Runs a host command and turns a failure into an error naming `what`.
    @discardableResult
    public func require(_ what: String, _ command: HostCommand) throws(InstallError) -> String {
        let outcome = run(command)
        guard outcome.succeeded else {
            throw .command(what, status: outcome.status, output: log.redact(outcome.output))
        }
        return outcome.output
    }

    /// Writes a file, recording what it replaced so a failed health gate can restore it.
    public func write(_ path: String, _ text: String, mode: UInt32, uid: UInt32 = 0, gid: UInt32 = 0) throws(InstallError) {
        journal.remember(path, files: files)
        try files.write(path, text, mode: mode, uid: uid, gid: gid)
        log.line("wrote \(path) (mode \(String(mode, radix: 8)))")
    }

    @discardableResult
    public func systemctl(_ arguments: String...) -> HostCommand.Outcome {
        systemctl(arguments)
    }

    @discardableResult
    public func systemctl(_ arguments: [String]) -> HostCommand.Outcome {
        run(HostCommand(["systemctl"] + arguments, timeoutSeconds: 180))
    }
}

/// Seconds for people: "0.4 s", "12.3 s".
public enum Format {
    public static func seconds(_ value: Double) -> String {
        let tenths = Int((value * 10).rounded())
        return "\(tenths / 10).\(tenths % 10) s"
    }
}
