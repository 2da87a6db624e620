import ArgumentParser
import EmbeddedServices
import FoundationEssentials
import Logging
import MemoryPlugin
import ServiceLifecycle
import TenantConfig
import TenantServer
import UnixSignals

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Supervise the memory plugin and the server in one process tree.",
        discussion: """
            Runs the memory plugin (MEMORY_PLUGIN_LISTEN_ADDR, 127.0.0.1:9100) and the tenant \
            server (BIND_ADDR:PORT, 0.0.0.0:8080) under one supervisor, for containers and hosts \
            without systemd. SIGTERM or SIGINT stops the server first, then the plugin.

            --embedded DIR also runs a private PostgreSQL and Redis under DIR (as the `postgres` \
            account when started as root) and points DATABASE_URL, REDIS_URL, \
            MEMORY_PLUGIN_DATABASE_URL, REDIS_PASSWORD, ADMIN_TOKEN and SECRETS_ENCRYPTION_KEY at them. The first run creates the cluster \
            and generates the admin token and passwords into DIR/secrets.env (mode 0600); later \
            runs reuse both. They listen on free loopback ports unless --pg-port and --redis-port \
            say otherwise, and stop last, PostgreSQL with a fast shutdown. EMBEDDED_PG_BINDIR and \
            EMBEDDED_REDIS_SERVER select other server binaries.

            Examples:
              molecule-tenant run --embedded ./.tenant
              PORT=8081 molecule-tenant run --embedded /srv/tenant --pg-port 5433 --redis-port 6380
              DATABASE_URL=postgres:///molecule REDIS_URL=redis://127.0.0.1:6379/0 molecule-tenant run
            """
    )
    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("Run PostgreSQL and Redis of our own under DIR.", valueName: "DIR"))
    var embedded: String?

    @Option(name: .customLong("pg-port"), help: ArgumentHelp("Loopback port of the embedded PostgreSQL (default: a free one).", valueName: "PORT"))
    var postgresPort: Int?

    @Option(help: ArgumentHelp("Loopback port of the embedded Redis (default: a free one).", valueName: "PORT"))
    var redisPort: Int?

    func validate() throws {
        if embedded == nil && (postgresPort != nil || redisPort != nil) {
            throw ValidationError("--pg-port and --redis-port need --embedded DIR")
        }
        if let port = postgresPort ?? redisPort, !(1...65535).contains(port) {
            throw ValidationError("ports must be between 1 and 65535")
        }
        if let embedded, embedded.isEmpty { throw ValidationError("--embedded needs a directory, e.g. --embedded ./.tenant") }
    }

    func run() async throws {
        let base = try TenantEnvironment.resolve(configFile: global.config)
        let embeddedServices = try embedded.map { try prepareEmbedded($0, base) }
        var flags: [String: String] = [:]
        if let embeddedServices {
            // Flags rank above environment and files, so the services use the embedded
            // servers whatever else is configured, and the redactor learns every secret.
            flags = [
                "DATABASE_URL": embeddedServices.databaseURL,
                "MEMORY_PLUGIN_DATABASE_URL": embeddedServices.databaseURL,
                "REDIS_URL": embeddedServices.redisURL,
                "REDIS_PASSWORD": embeddedServices.secrets.redisPassword,
                "ADMIN_TOKEN": embeddedServices.secrets.adminToken,
                "SECRETS_ENCRYPTION_KEY": embeddedServices.secrets.secretsEncryptionKey,
            ]
        }
        // The server talks to the plugin this process runs, unless told otherwise.
        let pluginURL = try Self.pluginURL(listenAddress: base["MEMORY_PLUGIN_LISTEN_ADDR"] ?? "127.0.0.1:9100")
        if base.origin(of: "MEMORY_PLUGIN_URL") == .builtIn { flags["MEMORY_PLUGIN_URL"] = pluginURL }

        let context = try CommandContext.prepare(global, label: "run", flags: flags)
        let environment = context.environment
        let logger = context.logger
        let (quiet, json) = (global.quiet, global.json)

        // Startup (initdb, migrations) can take a while; SIGTERM or SIGINT meanwhile
        // cancels it, so the embedded servers are stopped instead of left behind.
        let startup = Task { try await Self.prepareServices(environment, embedded: embeddedServices, pluginURL: pluginURL, quiet: quiet, json: json, logger: logger) }
        let signals = Task {
            for await _ in await UnixSignalsSequence(trapping: .sigterm, .sigint) {
                startup.cancel()
                return
            }
        }
        let services: [ServiceGroupConfiguration.ServiceConfiguration]
        do {
            services = try await startup.value
            signals.cancel()
        } catch {
            signals.cancel()
            await embeddedServices?.stop()
            if startup.isCancelled { return }
            if let error = error as? EmbeddedError { throw CLIFailure(error.description) }
            throw error
        }

        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .seconds(90)
        do {
            try await ServiceGroup(configuration: configuration).run()
        } catch let error as EmbeddedError {
            await embeddedServices?.stop()
            throw CLIFailure(error.description)
        }
        await embeddedServices?.stop()
    }

    /// Finds the binaries, locks DIR, loads or makes its secrets and picks ports.
    private func prepareEmbedded(_ directory: String, _ base: TenantEnvironment) throws -> EmbeddedServices {
        do {
            return try EmbeddedServices.prepare(EmbeddedOptions(
                directory: directory, postgresPort: postgresPort, redisPort: redisPort,
                postgresBinDirectory: base["EMBEDDED_PG_BINDIR"], redisServer: base["EMBEDDED_REDIS_SERVER"]))
        } catch {
            throw CLIFailure(error.description)
        }
    }

    /// Starts the embedded servers, prepares the plugin and the server, and returns them
    /// in start order; the group stops them in reverse: server, plugin, Redis, PostgreSQL.
    private static func prepareServices(
        _ environment: TenantEnvironment, embedded: EmbeddedServices?, pluginURL: String, quiet: Bool, json: Bool, logger: Logger
    ) async throws -> [ServiceGroupConfiguration.ServiceConfiguration] {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        func add(_ service: any Service, _ name: String) {
            // Any member stopping, cleanly or not, takes the rest down in order.
            services.append(.init(service: service, successTerminationBehavior: .gracefullyShutdownGroup,
                                  failureTerminationBehavior: .gracefullyShutdownGroup, serviceName: name))
        }
        if let embedded {
            for (name, service) in try await embedded.start(logger: logger) { add(service, name) }
        }
        let plugin = try await MemoryPluginServer.makeService(
            MemoryPluginCommand.configuration(from: environment), logger: Logger(label: "memory-plugin"))
        add(plugin, "memory-plugin")

        let announcement = Announcement(quiet: quiet, json: json, embedded: embedded, pluginURL: pluginURL, serverURL: try serverURL(environment))
        add(try serverService(environment, onReady: announcement.print), "tenant-server")
        return services
    }

    // MARK: - The tenant server

    /// The tenant server as a service. Deferred, because the server waits for the
    /// plugin's health before it returns, and the plugin serves only once the group runs.
    private static func serverService(_ environment: TenantEnvironment, onReady: @escaping @Sendable () -> Void) throws -> any Service {
        let configuration = try ServerCommand.configuration(from: environment)
        return DeferredService({
            do {
                return try await TenantServerApp.makeService(configuration, logger: Logger(label: "server"))
            } catch let error as TenantServerBootError {
                throw CLIFailure(error.description)
            }
        }, onReady: onReady)
    }

    /// Where people reach the server: BIND_ADDR:PORT, with a wildcard shown as loopback.
    private static func serverURL(_ environment: TenantEnvironment) throws -> String {
        let port = try environment.int("PORT") ?? 8080
        return "http://\(displayHost(environment["BIND_ADDR"] ?? "0.0.0.0")):\(port)"
    }

    static func pluginURL(listenAddress: String) throws -> String {
        let (host, port) = try ListenAddress.parse(listenAddress, variable: "MEMORY_PLUGIN_LISTEN_ADDR")
        return "http://\(displayHost(host)):\(port)"
    }

    private static func displayHost(_ host: String) -> String {
        switch host {
        case "0.0.0.0", "", "::": "127.0.0.1"
        case let ipv6 where ipv6.contains(":"): "[\(ipv6)]"
        default: host
        }
    }
}

/// The lines `run` prints once everything is up: where to reach it and, for an embedded
/// tenant, the admin token. Printed to stdout, never logged.
private struct Announcement: Sendable {
    let quiet: Bool
    let json: Bool
    let pluginURL: String
    let serverURL: String
    let directory: String?
    let secretsPath: String?
    let adminToken: String?
    let postgresPort: Int?
    let redisPort: Int?

    init(quiet: Bool, json: Bool, embedded: EmbeddedServices?, pluginURL: String, serverURL: String) {
        self.quiet = quiet
        self.json = json
        self.pluginURL = pluginURL
        self.serverURL = serverURL
        directory = embedded?.directory
        secretsPath = embedded?.secretsPath
        adminToken = embedded?.secrets.adminToken
        postgresPort = embedded?.postgresPort
        redisPort = embedded?.redisPort
    }

    func print() {
        if quiet { return }
        if json {
            let event = ReadyEvent(
                tenant_url: serverURL, memory_plugin_url: pluginURL, directory: directory,
                admin_token: adminToken, postgres_port: postgresPort, redis_port: redisPort)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            if let data = try? encoder.encode(event) { Output.standard(String(decoding: data, as: UTF8.self)) }
            return
        }
        var lines = ["molecule-tenant is running", "  tenant:        \(serverURL)", "  memory plugin: \(pluginURL)"]
        if let directory, let secretsPath, let adminToken, let postgresPort, let redisPort {
            lines.append("  admin token:   \(adminToken)")
            lines.append("  data:          \(directory) (PostgreSQL 127.0.0.1:\(postgresPort), Redis 127.0.0.1:\(redisPort); secrets in \(secretsPath))")
        }
        lines.append("Stop with Ctrl-C or SIGTERM.")
        Output.standard(lines.joined(separator: "\n"))
    }
}

/// `--json`'s line once everything is up.
private struct ReadyEvent: Encodable {
    var event = "ready"
    let tenant_url: String
    let memory_plugin_url: String
    let directory: String?
    let admin_token: String?
    let postgres_port: Int?
    let redis_port: Int?
}

/// A service whose construction has to wait until the group runs: the server checks the
/// plugin's health before it returns, and the plugin serves only once the group has
/// started it. A graceful shutdown during construction ends it quietly.
struct DeferredService: Service {
    let make: @Sendable () async throws -> any Service
    let onReady: @Sendable () -> Void

    init(_ make: @escaping @Sendable () async throws -> any Service, onReady: @escaping @Sendable () -> Void) {
        self.make = make
        self.onReady = onReady
    }

    func run() async throws {
        let service: any Service
        do {
            service = try await cancelWhenGracefulShutdown { try await make() }
        } catch is CancellationError where Task.isShuttingDownGracefully {
            return
        }
        onReady()
        try await service.run()
    }
}
