import CSocketHandover
import Logging
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Starts the process that takes over: the same command line (argv[0] is re-resolved, so
/// `/usr/local/bin/molecule-tenant` now means the new release), with the listening socket
/// as descriptor 3 and a readiness pipe as descriptor 4. It is ours only once it writes
/// "ready"; if it exits or stays silent past the timeout it is stopped and we keep serving.
enum Successor {
    enum Outcome {
        /// It serves on the socket.
        case ready(pid_t)
        /// It failed (and is gone): why, for the log and for `upgrade`.
        case refused(String)
    }

    static func start(listening: ListeningSocket, timeout: Duration, logger: Logger) async -> Outcome {
        var pipeEnds: [Int32] = [0, 0]
        guard makePipe(&pipeEnds) else {
            let reason = "cannot create the readiness pipe: \(String(cString: strerror(errno)))"
            logger.error("handover: \(reason)")
            return .refused(reason)
        }
        let readEnd = pipeEnds[0]
        let writeEnd = pipeEnds[1]
        defer { close(readEnd) }
        let spawned = spawn(listening: listening.descriptor, readyWriteEnd: writeEnd)
        close(writeEnd)
        let pid: pid_t
        switch spawned {
        case .success(let started): pid = started
        case .failure(let reason):
            logger.error("handover: cannot start the successor", metadata: ["error": "\(reason)"])
            return .refused("cannot start the successor: \(reason)")
        }
        logger.notice("handover: successor started, waiting until it serves", metadata: ["pid": "\(pid)"])
        let ready = (try? await NIOThreadPool.singleton.runIfActive { waitForReady(readEnd, timeout: timeout) }) ?? false
        if ready { return .ready(pid) }
        logger.error("handover: the successor did not become ready; stopping it and serving on", metadata: ["pid": "\(pid)"])
        let status = (try? await NIOThreadPool.singleton.runIfActive { stop(pid) }) ?? nil
        return .refused("the successor (pid \(pid)) did not become ready" + (status.map { ": \($0)" } ?? ""))
    }

    private enum Spawned {
        case success(pid_t)
        case failure(String)
    }

    /// Variables that describe this process or the reload command, never configuration.
    static let notInherited: Set<String> = [
        "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "MAINPID", "PWD", "OLDPWD", "SHLVL", "_",
        HandoverEnvironment.listenFD, HandoverEnvironment.readyFD,
    ]

    /// This process's environment, with every value the reload command saw laid over it:
    /// under systemd that is the env files as they are now, so a setting `config sync` or
    /// `upgrade` wrote since this process started reaches its successor.
    static func successorEnvironment(current: [String], refreshed: [String]) -> [String] {
        var order: [String] = []
        var values: [String: String] = [:]
        for entry in current + refreshed {
            let name = String(entry.prefix { $0 != "=" })
            guard !notInherited.contains(name), entry.contains("=") else { continue }
            if values[name] == nil { order.append(name) }
            values[name] = entry
        }
        return order.compactMap { values[$0] }
    }

    /// The reload command's environment (`handover.env` in the runtime directory), read
    /// once and removed: it holds the tenant's secrets.
    private static func refreshedEnvironment() -> [String] {
        guard let directory = HandoverEnvironment.read(HandoverEnvironment.runtimeDirectory) else { return [] }
        let path = directory + "/" + HandoverEnvironment.refreshedFile
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return [] }
        defer {
            close(fd)
            unlink(path)
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        while bytes.count < 1 << 20 {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            bytes += chunk[0..<count]
        }
        return bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    private static func spawn(listening: Int32, readyWriteEnd: Int32) -> Spawned {
        let arguments = CommandLine.arguments
        var current: [String] = []
        var cursor = environ
        while let entry = cursor.pointee {
            current.append(String(cString: entry))
            cursor += 1
        }
        var environment = successorEnvironment(current: current, refreshed: refreshedEnvironment())
        environment.append("\(HandoverEnvironment.listenFD)=3")
        environment.append("\(HandoverEnvironment.readyFD)=4")

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // dup2 clears close-on-exec on the copies, so exactly these two cross exec.
        posix_spawn_file_actions_adddup2(&actions, listening, 3)
        posix_spawn_file_actions_adddup2(&actions, readyWriteEnd, 4)
        // NIO's accepted sockets are not close-on-exec: without this the successor would hold
        // the old process's client connections open after it closed them, and clients hang.
        molecule_spawn_close_from(&actions, 5)

        // Our signal handling (blocked or ignored signals) must not leak into the successor.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, &attributes, argv, envp)
        guard result == 0 else { return .failure("\(arguments[0]): \(String(cString: strerror(result)))") }
        return .success(pid)
    }

    /// Blocks until "ready" arrives, the pipe closes (the successor exited) or time is up.
    private static func waitForReady(_ fd: Int32, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 64)
        while ContinuousClock.now < deadline {
            var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 250)
            if ready <= 0 { continue }
            let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { return false }
            received += buffer[0..<count]
            if String(decoding: received, as: UTF8.self).hasPrefix("ready") { return true }
        }
        return false
    }

    /// SIGTERM, ten seconds to go, then SIGKILL; always reaps it. Says how it ended when it
    /// had already exited by itself (the useful part of a failed handover).
    private static func stop(_ pid: pid_t) -> String? {
        var status: Int32 = 0
        // A successor that closed the pipe by exiting is reapable a moment later.
        for _ in 0..<10 {
            if waitpid(pid, &status, WNOHANG) == pid { return describe(status) }
            usleep(100_000)
        }
        kill(pid, SIGTERM)
        for _ in 0..<100 {
            if waitpid(pid, &status, WNOHANG) == pid { return nil }
            usleep(100_000)
        }
        kill(pid, SIGKILL)
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return nil
    }

    /// WIFEXITED / WTERMSIG spelled out (the C macros are not imported).
    private static func describe(_ status: Int32) -> String {
        let signal = status & 0x7F
        return signal == 0 ? "it exited with status \((status >> 8) & 0xFF)" : "it was killed by signal \(signal)"
    }
}

/// The successor's side: tell the process handing over that we serve now.
enum Readiness {
    static func announce() {
        guard let text = HandoverEnvironment.take(HandoverEnvironment.readyFD), let fd = Int32(text) else { return }
        let message = Array("ready\n".utf8)
        _ = message.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
    }
}

/// pipe(2) with both ends close-on-exec (pipe2 is not visible through Glibc's module map).
private func makePipe(_ ends: inout [Int32]) -> Bool {
    guard pipe(&ends) == 0 else { return false }
    for fd in ends { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return true
}
