#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion and collects its output (stdout and stderr together),
/// killing it after `timeout`. Used to prove a binary runs before it is trusted with a host.
public enum ChildCommand {
    public struct Outcome: Sendable {
        /// Exit status, or 128 + signal; nil when it was killed for taking too long.
        public let status: Int32?
        public let output: String
    }

    /// - Parameter tick: called about four times a second while the program runs.
    public static func run(
        _ arguments: [String], environment: [String]? = nil, timeout: Duration = .seconds(30), tick: (() -> Void)? = nil
    ) throws -> Outcome {
        var pipeEnds: [Int32] = [0, 0]
        guard makePipe(&pipeEnds) else { throw ReleaseError.unreadable(path: arguments[0], reason: errnoText()) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 1)
        posix_spawn_file_actions_adddup2(&actions, pipeEnds[1], 2)
        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { $0.map { strdup($0) } + [nil] }
        defer {
            argv.forEach { free($0) }
            envp?.forEach { free($0) }
        }
        var pid: pid_t = 0
        let spawned = if let envp { posix_spawn(&pid, arguments[0], &actions, nil, argv, envp) } else {
            posix_spawn(&pid, arguments[0], &actions, nil, argv, environ)
        }
        close(pipeEnds[1])
        defer { close(pipeEnds[0]) }
        guard spawned == 0 else { throw ReleaseError.unreadable(path: arguments[0], reason: String(cString: strerror(spawned))) }

        let deadline = ContinuousClock.now + timeout
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        var timedOut = false
        var nextTick = ContinuousClock.now + .milliseconds(250)
        while true {
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { timedOut = true; break }
            var poller = pollfd(fd: pipeEnds[0], events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(min(remaining.components.seconds * 1000 + 1, tick == nil ? 1000 : 250)))
            if let tick, ContinuousClock.now >= nextTick {
                tick()
                nextTick = ContinuousClock.now + .milliseconds(250)
            }
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { continue }
            let count = buffer.withUnsafeMutableBytes { read(pipeEnds[0], $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            if output.count < 1 << 20 { output.append(contentsOf: buffer[0..<count]) }
        }
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let code: Int32 = (status & 0x7F) == 0 ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        return Outcome(status: timedOut ? nil : code, output: String(decoding: output, as: UTF8.self))
    }
}

/// pipe(2) with both ends close-on-exec (pipe2 is not visible through Glibc's module map).
private func makePipe(_ ends: inout [Int32]) -> Bool {
    guard pipe(&ends) == 0 else { return false }
    for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return true
}
