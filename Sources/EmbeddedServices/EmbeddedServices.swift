import Logging
import ServiceLifecycle
import Synchronization
import TenantCrypto

#if canImport(Glibc)
import Glibc
#endif

/// Where and how `run --embedded DIR` runs its own PostgreSQL and Redis.
public struct EmbeddedOptions: Sendable {
    /// The directory that holds everything: data, logs, sockets and secrets.env.
    public var directory: String
    /// PostgreSQL's loopback port; nil picks a free one at every start.
    public var postgresPort: Int?
    /// Redis's loopback port; nil picks a free one at every start.
    public var redisPort: Int?
    /// Directory of `postgres` and `initdb` (EMBEDDED_PG_BINDIR); nil finds the installed ones.
    public var postgresBinDirectory: String?
    /// Path of `redis-server` (EMBEDDED_REDIS_SERVER); nil looks on PATH.
    public var redisServer: String?

    public init(directory: String, postgresPort: Int? = nil, redisPort: Int? = nil, postgresBinDirectory: String? = nil, redisServer: String? = nil) {
        self.directory = directory
        self.postgresPort = postgresPort
        self.redisPort = redisPort
        self.postgresBinDirectory = postgresBinDirectory
        self.redisServer = redisServer
    }
}

/// A private PostgreSQL cluster and Redis under one directory, run as child processes.
///
/// `prepare` does everything that needs no server (finds the binaries, locks the
/// directory, loads or generates the secrets, picks ports), so the caller knows every
/// URL and secret before logging starts. `start` brings both servers up and returns them
/// as services for the caller's ServiceGroup, which stops them last, PostgreSQL with a
/// fast shutdown. As root both run as the `postgres` account, which owns their data.
public final class EmbeddedServices: Sendable {
    /// The absolute directory.
    public let directory: String
    /// `DIR/secrets.env`, mode 0600.
    public let secretsPath: String
    /// The generated secrets, the same on every run with this directory.
    public let secrets: EmbeddedSecrets
    /// PostgreSQL's loopback port for this run.
    public let postgresPort: Int
    /// Redis's loopback port for this run.
    public let redisPort: Int

    private let postgresBinDirectory: String
    private let redisServer: String
    private let account: ServiceAccount
    private let lockDescriptor: Int32
    private let started = Mutex<[SupervisedProcess]>([])

    /// `DATABASE_URL` of database `molecule` over loopback TCP, password included.
    public var databaseURL: String { "postgres://postgres:\(secrets.postgresPassword)@127.0.0.1:\(postgresPort)/molecule" }
    /// `REDIS_URL`, password included.
    public var redisURL: String { "redis://:\(secrets.redisPassword)@127.0.0.1:\(redisPort)/0" }

    private init(
        directory: String, secrets: EmbeddedSecrets, postgresPort: Int, redisPort: Int,
        postgresBinDirectory: String, redisServer: String, account: ServiceAccount, lockDescriptor: Int32
    ) {
        self.directory = directory
        self.secretsPath = directory + "/" + EmbeddedSecrets.fileName
        self.secrets = secrets
        self.postgresPort = postgresPort
        self.redisPort = redisPort
        self.postgresBinDirectory = postgresBinDirectory
        self.redisServer = redisServer
        self.account = account
        self.lockDescriptor = lockDescriptor
    }

    deinit { close(lockDescriptor) }

    /// Finds the binaries, creates and locks the directory, loads or generates the
    /// secrets and picks the ports. Starts nothing.
    public static func prepare(_ options: EmbeddedOptions) throws(EmbeddedError) -> EmbeddedServices {
        let directory = Files.absolute(options.directory)
        // Binaries first: a missing package is the likeliest failure, and it should leave nothing behind.
        let postgres = try PostgresCluster.binaries(override: options.postgresBinDirectory, existingCluster: directory + "/data/postgres")
        let redis = try RedisInstance.server(override: options.redisServer)
        let account = try ServiceAccount.resolve()
        // As root the directory stays root's, searchable (not readable) by the account
        // that owns the data inside it; secrets.env stays root's alone.
        try Files.makeDirectory(directory, mode: account.switches ? 0o711 : 0o700)
        let lock = open(directory + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lock >= 0 else { throw .file(path: directory + "/.lock", reason: Files.errorText()) }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            close(lock)
            throw .directoryInUse(directory)
        }
        do throws(EmbeddedError) {
            let secrets = try EmbeddedSecrets.loadOrCreate(directory + "/" + EmbeddedSecrets.fileName)
            let postgresPort = if let port = options.postgresPort { port } else { try LoopbackPort.free() }
            var redisPort = if let port = options.redisPort { port } else { try LoopbackPort.free() }
            // Two quick binds to port 0 may hand out the same port.
            while options.redisPort == nil && redisPort == postgresPort { redisPort = try LoopbackPort.free() }
            return EmbeddedServices(
                directory: directory, secrets: secrets, postgresPort: postgresPort, redisPort: redisPort,
                postgresBinDirectory: postgres, redisServer: redis, account: account, lockDescriptor: lock)
        } catch {
            close(lock)
            throw error
        }
    }

    /// Starts PostgreSQL (initdb on first use, database `molecule`) and Redis, waits until
    /// both answer, and returns them as services in start order: put them first in the
    /// ServiceGroup, so they are shut down last.
    public func start(logger: Logger) async throws -> [(name: String, service: any Service)] {
        let dataRoot = try await dataDirectory(logger: logger)
        let cluster = PostgresCluster(binDirectory: postgresBinDirectory, dataRoot: dataRoot, port: postgresPort, account: account)
        let redis = RedisInstance(serverPath: redisServer, dataRoot: dataRoot, port: redisPort, password: secrets.redisPassword, account: account)
        do {
            await cluster.stopLeftover(logger: logger)
            await redis.stopLeftover(logger: logger)
            try await cluster.initializeIfNeeded(logger: logger)

            let postgresProcess = try cluster.start()
            let postgres = SupervisedProcess(process: postgresProcess, stopSignal: SIGINT, stopTimeout: .seconds(60), escalation: SIGQUIT)
            started.withLock { $0.append(postgres) }
            try await cluster.waitUntilReady(postgresProcess)
            try await cluster.prepareDatabase(password: secrets.postgresPassword, logger: logger)
            logger.info("embedded PostgreSQL ready", metadata: ["port": "\(postgresPort)", "data": "\(cluster.dataDirectory)"])

            let redisProcess = try redis.start()
            let redisService = SupervisedProcess(process: redisProcess, stopSignal: SIGTERM, stopTimeout: .seconds(10), escalation: SIGKILL)
            started.withLock { $0.append(redisService) }
            try await redis.waitUntilReady(redisProcess)
            logger.info("embedded Redis ready", metadata: ["port": "\(redisPort)"])
            return [("postgres", postgres), ("redis", redisService)]
        } catch {
            await stop()
            throw error
        }
    }

    /// Stops whatever `start` started, Redis first, then PostgreSQL; safe to call again.
    /// Only for paths outside a ServiceGroup: inside one, the group stops them.
    public func stop() async {
        let running = started.withLock { state in
            defer { state = [] }
            return state
        }
        for service in running.reversed() { await service.stop() }
    }

    /// `DIR/data`, owned by the account. When we are root and the account cannot reach
    /// DIR (a checkout under /root, mode 0700), the data lives under
    /// /var/lib/molecule-tenant/embedded/ instead and `DIR/data` is a symlink to it.
    private func dataDirectory(logger: Logger) async throws(EmbeddedError) -> String {
        let link = directory + "/data"
        if let target = Self.symlinkTarget(link) { return target }
        var data = link
        if account.switches && !Files.exists(link) {
            let test = Executable.find("test") ?? "/usr/bin/test"
            let reachable = try await ServerProcess.runToCompletion(
                name: "test", arguments: account.command([test, "-x", directory]), environment: [:], logPath: "/dev/null") == 0
            if !reachable {
                data = "/var/lib/molecule-tenant/embedded/" + Hex.encode(SHA256.hash(Array(directory.utf8)).prefix(8))
                logger.notice("\(account.name) cannot reach \(directory); keeping the data in \(data) (linked from \(link))")
            }
        }
        try Files.makeDirectory(data, mode: 0o700)
        try account.own(data)
        if data != link, symlink(data, link) != 0 {
            throw .file(path: link, reason: "symlink: \(Files.errorText())")
        }
        return data
    }

    private static func symlinkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        let length = readlink(path, &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
