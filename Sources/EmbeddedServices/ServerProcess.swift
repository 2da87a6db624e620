import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// A child process we started with posix_spawn, reaped by a thread of its own so its
/// exit status is known the moment it exits.
///
/// Children get a process group of their own, so a Ctrl-C at the terminal reaches only
/// `run`, which then stops them in order instead of PostgreSQL and Redis dying first.
final class ServerProcess: Sendable {
    let name: String
    let pid: pid_t
    let logPath: String
    private let state = Mutex(State())

    private struct State {
        var status: Int32?
        var stopRequested = false
        var waiters: [CheckedContinuation<Int32, Never>] = []
    }

    /// Starts `arguments` (an absolute path first) with `environment` as its whole
    /// environment, its stdout and stderr appended to `logPath`. It inherits our working
    /// directory, which the servers leave at once (PostgreSQL for its data directory,
    /// Redis for `dir`).
    init(name: String, arguments: [String], environment: [String: String], logPath: String) throws(EmbeddedError) {
        self.name = name
        self.logPath = logPath
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Signal handling is inherited: ServiceLifecycle ignores SIGTERM/SIGINT in this
        // process, so the child gets the defaults back and an empty mask.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE, SIGCHLD, SIGUSR1, SIGUSR2] { sigaddset(&defaults, signal) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.sorted { $0.key < $1.key }.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else { throw .spawnFailed(arguments[0], reason: String(cString: strerror(result))) }
        self.pid = pid
        BlockingThread.detach { [self] in reap() }
    }

    /// Blocks until the child exits, records its status, then reaps it. Recording before
    /// reaping means `send` never signals a pid the kernel may already have reused.
    private func reap() {
        var info = siginfo_t()
        while waitid(P_PID, id_t(pid), &info, WEXITED | WNOWAIT) < 0 && errno == EINTR {}
        let code = info._sifields._sigchld.si_status
        let status = info.si_code == CLD_EXITED ? code : 128 + code
        let waiters = state.withLock { state in
            state.status = status
            var reaped: Int32 = 0
            while waitpid(pid, &reaped, 0) < 0 && errno == EINTR {}
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    /// The exit status (128 + signal when killed), or nil while it runs.
    var exitStatus: Int32? { state.withLock { $0.status } }

    /// True once `stop` was called, so an exit is not reported as a crash.
    var stopRequested: Bool { state.withLock { $0.stopRequested } }

    /// Waits for the exit status; returns at once when the child has exited already.
    func waitForExit() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status: Int32? = state.withLock { state in
                if let status = state.status { return status }
                state.waiters.append(continuation)
                return nil
            }
            if let status { continuation.resume(returning: status) }
        }
    }

    /// Sends `signal` unless the child has exited.
    func send(_ signal: Int32) {
        state.withLock { state in
            if state.status == nil { kill(pid, signal) }
        }
    }

    /// Asks the child to stop with `signal`; after `timeout` sends `escalation`, and
    /// SIGKILL ten seconds after that. Returns without waiting; see `stop`.
    func beginStop(signal: Int32, timeout: Duration, escalation: Int32) {
        let first = state.withLock { state in
            defer { state.stopRequested = true }
            return !state.stopRequested
        }
        guard first else { return }
        send(signal)
        // A task of its own: the caller may be cancelled, and the deadlines must still hold.
        Task { [self] in
            if await !exits(within: timeout) {
                send(escalation)
                if await !exits(within: .seconds(10)) { send(SIGKILL) }
            }
        }
    }

    /// Stops the child as `beginStop` does and waits for it to exit.
    @discardableResult
    func stop(signal: Int32, timeout: Duration, escalation: Int32) async -> Int32 {
        beginStop(signal: signal, timeout: timeout, escalation: escalation)
        return await waitForExit()
    }

    private func exits(within timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while exitStatus == nil && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        return exitStatus != nil
    }

    /// Runs a short-lived program to completion and returns its exit status.
    static func runToCompletion(
        name: String, arguments: [String], environment: [String: String], logPath: String
    ) async throws(EmbeddedError) -> Int32 {
        let process = try ServerProcess(name: name, arguments: arguments, environment: environment, logPath: logPath)
        return await process.waitForExit()
    }
}
