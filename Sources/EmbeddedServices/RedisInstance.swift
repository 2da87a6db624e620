import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The private Redis under `DATA/redis`: loopback only, a generated requirepass,
/// keyspace events on, nothing persisted (it holds liveness keys and rate-limit counters,
/// which are rebuilt within seconds).
struct RedisInstance: Sendable {
    let serverPath: String
    let dataRoot: String
    let port: Int
    let password: String
    let account: ServiceAccount

    var directory: String { dataRoot + "/redis" }
    var logPath: String { dataRoot + "/redis.log" }
    var configPath: String { directory + "/redis.conf" }
    var pidFile: String { directory + "/redis.pid" }

    /// `override` (EMBEDDED_REDIS_SERVER) when given, else redis-server from PATH.
    static func server(override: String?) throws(EmbeddedError) -> String {
        if let override {
            guard access(override, X_OK) == 0 else { throw .redisNotInstalled(searched: "EMBEDDED_REDIS_SERVER=\(override)") }
            return override
        }
        guard let found = Executable.find("redis-server") else { throw .redisNotInstalled(searched: "PATH, /usr/bin, /usr/sbin") }
        return found
    }

    /// Stops a redis-server left running on this directory by a `run` that was killed.
    func stopLeftover(logger: Logger) async {
        guard let pid = Processes.pid(inFile: pidFile), Processes.isAlive(pid), Processes.commandLine(pid).contains("redis") else { return }
        logger.notice("stopping the Redis an earlier run left behind", metadata: ["pid": "\(pid)"])
        await Processes.stopLeftover(pid: pid, marker: "redis", signal: SIGTERM, escalation: SIGKILL, timeout: .seconds(10))
    }

    /// Writes redis.conf (mode 0600: it holds the password, which must not be in argv)
    /// and starts redis-server in the foreground.
    func start() throws(EmbeddedError) -> ServerProcess {
        try Files.makeDirectory(directory, mode: 0o700)
        try account.own(directory)
        let configuration = """
            # Written by `molecule-tenant run --embedded` at every start; edits are replaced.
            bind 127.0.0.1
            port \(port)
            protected-mode yes
            requirepass \(password)
            notify-keyspace-events KEA
            save ""
            appendonly no
            dir \(directory)
            pidfile \(pidFile)
            daemonize no
            logfile ""

            """
        try Files.write(configuration, to: configPath, mode: 0o600, owner: account)
        return try ServerProcess(
            name: "Redis",
            arguments: account.command([serverPath, configPath]),
            environment: ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": dataRoot], logPath: logPath)
    }

    /// Waits until AUTH and PING answer.
    func waitUntilReady(_ process: ServerProcess, timeout: Duration = .seconds(30)) async throws {
        let deadline = ContinuousClock.now + timeout
        let port = self.port, password = self.password
        while ContinuousClock.now < deadline {
            if process.exitStatus != nil {
                throw EmbeddedError.serverFailed(name: "Redis", detail: Files.lastLine(of: logPath), log: logPath)
            }
            if await BlockingThread.run({ Self.answersPing(port: port, password: password) }) { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw EmbeddedError.serverFailed(name: "Redis", detail: "not answering within \(timeout)", log: logPath)
    }

    /// One blocking AUTH + PING round trip on a fresh connection (1 s timeouts).
    static func answersPing(port: Int, password: String) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return false }
        let request = Array("*2\r\n$4\r\nAUTH\r\n$\(password.utf8.count)\r\n\(password)\r\n*1\r\n$4\r\nPING\r\n".utf8)
        guard request.withUnsafeBytes({ send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return false }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 256)
        while reply.count < 1024 {
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return false }
            reply += chunk[0..<count]
            let text = String(decoding: reply, as: UTF8.self)
            if text.contains("+PONG\r\n") { return text.hasPrefix("+OK\r\n") }
            if text.hasPrefix("-") { return false }
        }
        return false
    }
}
