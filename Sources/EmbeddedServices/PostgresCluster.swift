import Logging
import Postgres

#if canImport(Glibc)
import Glibc
#endif

/// The private PostgreSQL cluster under `DATA/postgres`: initdb once, then `postgres` in
/// the foreground as our child, listening on 127.0.0.1:port and on a unix socket in
/// `DATA/run`.
struct PostgresCluster: Sendable {
    let binDirectory: String
    let dataRoot: String
    let port: Int
    let account: ServiceAccount

    var dataDirectory: String { dataRoot + "/postgres" }
    var socketDirectory: String { dataRoot + "/run" }
    var logPath: String { dataRoot + "/postgres.log" }
    var pidFile: String { dataDirectory + "/postmaster.pid" }

    static let packageRoot = "/usr/lib/postgresql"

    /// The server binaries: `override` (EMBEDDED_PG_BINDIR) when given; else the version
    /// that made an existing cluster (PostgreSQL refuses a cluster of another major
    /// version); else the newest installed.
    static func binaries(override: String?, existingCluster: String) throws(EmbeddedError) -> String {
        func complete(_ directory: String) -> Bool {
            access(directory + "/postgres", X_OK) == 0 && access(directory + "/initdb", X_OK) == 0
        }
        if let override {
            guard complete(override) else { throw .postgresNotInstalled(searched: "EMBEDDED_PG_BINDIR=\(override)") }
            return override
        }
        var versions: [String] = []
        if let directory = opendir(packageRoot) {
            defer { closedir(directory) }
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if !name.hasPrefix("."), complete("\(packageRoot)/\(name)/bin") { versions.append(name) }
            }
        }
        if let made = Files.read(existingCluster + "/PG_VERSION")?.split(separator: "\n").first.map(String.init) {
            guard versions.contains(made) else { throw .postgresVersionNotInstalled(version: made, directory: existingCluster) }
            return "\(packageRoot)/\(made)/bin"
        }
        guard let newest = versions.max(by: { (Double($0) ?? 0) < (Double($1) ?? 0) }) else {
            throw .postgresNotInstalled(searched: "\(packageRoot)/*/bin")
        }
        return "\(packageRoot)/\(newest)/bin"
    }

    private var environment: [String: String] {
        ["PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": dataRoot]
    }

    /// Stops a postmaster left running on this cluster by a `run` that was killed.
    func stopLeftover(logger: Logger) async {
        guard let pid = Processes.pid(inFile: pidFile), Processes.isAlive(pid), Processes.commandLine(pid).contains(dataDirectory) else { return }
        logger.notice("stopping the PostgreSQL an earlier run left behind", metadata: ["pid": "\(pid)"])
        await Processes.stopLeftover(pid: pid, marker: dataDirectory, signal: SIGINT, escalation: SIGQUIT, timeout: .seconds(60))
    }

    /// Runs initdb once. It writes into a scratch directory that is renamed into place
    /// only when complete, so an interrupted first run leaves nothing half-made behind.
    func initializeIfNeeded(logger: Logger) async throws(EmbeddedError) {
        if Files.exists(dataDirectory + "/PG_VERSION") { return }
        if Files.exists(dataDirectory) {
            throw .file(path: dataDirectory, reason: "exists but is not a PostgreSQL cluster: move it away and run again")
        }
        let scratch = dataDirectory + ".initdb"
        if Files.exists(scratch) {
            _ = try await ServerProcess.runToCompletion(
                name: "rm", arguments: ["/bin/rm", "-rf", scratch], environment: environment, logPath: "/dev/null")
        }
        logger.notice("creating the embedded PostgreSQL cluster", metadata: ["directory": "\(dataDirectory)"])
        let log = dataRoot + "/initdb.log"
        let status = try await ServerProcess.runToCompletion(
            name: "initdb",
            arguments: account.command([
                binDirectory + "/initdb", "-D", scratch, "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "--auth=trust",
            ]),
            environment: environment, logPath: log)
        guard status == 0 else { throw .serverFailed(name: "initdb", detail: Files.lastLine(of: log), log: log) }
        guard rename(scratch, dataDirectory) == 0 else { throw .file(path: scratch, reason: "rename: \(Files.errorText())") }
    }

    /// Writes pg_hba.conf (every start, so the rules are always ours) and starts the server.
    func start() throws(EmbeddedError) -> ServerProcess {
        let socket = "\(socketDirectory)/.s.PGSQL.\(port)"
        guard socket.utf8.count <= 107 else { throw .pathTooLong(socket) }
        try Files.makeDirectory(socketDirectory, mode: 0o700)
        try account.own(socketDirectory)
        // Trust only on the unix socket, which sits in a 0700 directory of the account;
        // TCP is loopback and needs the generated password.
        let hba = """
            # Written by `molecule-tenant run --embedded` at every start; edits are replaced.
            local all all trust
            host  all all 127.0.0.1/32 scram-sha-256
            host  all all ::1/128      scram-sha-256

            """
        try Files.write(hba, to: dataDirectory + "/pg_hba.conf", mode: 0o600, owner: account)
        return try ServerProcess(
            name: "PostgreSQL",
            arguments: account.command([
                binDirectory + "/postgres", "-D", dataDirectory, "-p", String(port), "-k", socketDirectory,
                "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_permissions=0700",
                "-c", "password_encryption=scram-sha-256",
            ]),
            environment: environment, logPath: logPath)
    }

    /// Waits until the postmaster says "ready" in postmaster.pid (what `pg_ctl -w` reads).
    func waitUntilReady(_ process: ServerProcess, timeout: Duration = .seconds(120)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if process.exitStatus != nil {
                throw EmbeddedError.serverFailed(name: "PostgreSQL", detail: Files.lastLine(of: logPath), log: logPath)
            }
            if let lines = Files.read(pidFile)?.split(separator: "\n", omittingEmptySubsequences: false),
               lines.count >= 8, pid_t(lines[0].trimmingCharacters()) == process.pid, lines[7].trimmingCharacters() == "ready" {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw EmbeddedError.serverFailed(name: "PostgreSQL", detail: "not ready within \(timeout)", log: logPath)
    }

    /// Sets the superuser's password to the one in secrets.env (so a replaced secrets.env
    /// still works) and creates database `molecule` when it is missing.
    func prepareDatabase(password: String, logger: Logger) async throws {
        let conninfo = "host='\(socketDirectory)' port=\(port) user=postgres dbname=postgres"
        let pool = PostgresPool(.init(conninfo: conninfo, maxConnections: 1, acquireTimeout: .seconds(10)), logger: logger)
        do {
            // The password is generated hex, so it needs no quoting beyond the literal's.
            try await pool.query("ALTER ROLE postgres PASSWORD '\(password)'")
            if try await pool.query("SELECT 1 FROM pg_database WHERE datname = 'molecule'").isEmpty {
                try await pool.query("CREATE DATABASE molecule")
            }
        } catch {
            await pool.shutdown()
            throw error
        }
        await pool.shutdown()
    }
}
