#if canImport(Glibc)
import Glibc
#endif

/// Runs a program on the host and collects its output (stdout and stderr together), with
/// an optional stdin text, extra environment and a time limit. Arguments never carry
/// secrets: those go through `input` or the environment.
public struct HostCommand: Sendable {
    public struct Outcome: Sendable {
        public let status: Int32
        public let output: String
        public var succeeded: Bool { status == 0 }
    }

    public let arguments: [String]
    public var environment: [String: String] = [:]
    public var input: String?
    public var timeoutSeconds: Int = 600

    public init(_ arguments: [String], environment: [String: String] = [:], input: String? = nil, timeoutSeconds: Int = 600) {
        self.arguments = arguments
        self.environment = environment
        self.input = input
        self.timeoutSeconds = timeoutSeconds
    }

    /// The environment a child gets: a fixed PATH and locale, plus `environment`.
    static func childEnvironment(_ extra: [String: String]) -> [String] {
        var base = [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "DEBIAN_FRONTEND": "noninteractive",
            "HOME": "/root",
        ]
        for (key, value) in extra { base[key] = value }
        return base.map { "\($0.key)=\($0.value)" }
    }

    static let searchPath = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]

    /// The program's path, looked up on our fixed PATH rather than the caller's (cron or
    /// a minimal sudo may leave out the sbin directories where useradd and runuser live).
    static func resolve(_ program: String) -> String {
        guard !program.contains("/") else { return program }
        return searchPath.map { "\($0)/\(program)" }.first { access($0, X_OK) == 0 } ?? program
    }

    /// Runs to completion. A program that cannot be started is status 127; one killed for
    /// running too long is status 124 (as `timeout` reports it).
    public func run() -> Outcome {
        var outPipe: [Int32] = [0, 0]
        var inPipe: [Int32] = [0, 0]
        guard pipe(&outPipe) == 0, pipe(&inPipe) == 0 else {
            return Outcome(status: 127, output: "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 2)
        for fd in [inPipe[0], inPipe[1], outPipe[0], outPipe[1]] { posix_spawn_file_actions_addclose(&actions, fd) }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, so a timeout stops the whole tree it started.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        posix_spawnattr_setpgroup(&attributes, 0)
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = Self.childEnvironment(environment).map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in envp { free(pointer) }
        }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, Self.resolve(arguments[0]), &actions, &attributes, argv, envp)
        close(inPipe[0])
        close(outPipe[1])
        guard spawned == 0 else {
            close(inPipe[1])
            close(outPipe[0])
            return Outcome(status: 127, output: "\(arguments[0]): \(String(cString: strerror(spawned)))")
        }
        if let input {
            // Inputs are small (SQL, tokens); a pipe buffer holds them.
            var bytes = Array(input.utf8)
            _ = bytes.withUnsafeMutableBytes { write(inPipe[1], $0.baseAddress, $0.count) }
        }
        close(inPipe[1])

        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        let deadline = MonotonicClock.seconds() + Double(timeoutSeconds)
        var timedOut = false
        while true {
            var descriptor = pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0)
            let remaining = deadline - MonotonicClock.seconds()
            if remaining <= 0 {
                timedOut = true
                kill(-pid, SIGKILL)
                break
            }
            let ready = poll(&descriptor, 1, Int32(min(remaining, 1) * 1000))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            let count = buffer.withUnsafeMutableBytes { read(outPipe[0], $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            // Keep the last 1 MiB: enough to explain a failure.
            output.append(contentsOf: buffer[0..<count])
            if output.count > 1 << 20 { output.removeFirst(output.count - (1 << 20)) }
        }
        close(outPipe[0])
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = String(decoding: output, as: UTF8.self)
        if timedOut { return Outcome(status: 124, output: text + "\n(stopped after \(timeoutSeconds) s)") }
        let exited = status & 0x7f == 0
        return Outcome(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output: text)
    }
}

/// Seconds on a clock that never jumps, for timeouts and step timings.
public enum MonotonicClock {
    public static func seconds() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
    }
}
