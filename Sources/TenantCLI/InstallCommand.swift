import ArgumentParser
import FoundationEssentials
import Installer
import TenantConfig

#if canImport(Glibc)
import Glibc
#endif

struct InstallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Turn this Linux host into a running tenant (PostgreSQL, Redis, services, health gate).",
        discussion: """
            A list of steps, each checked before it is applied: a second run changes nothing, and a \
            run stopped anywhere finishes when run again. --plan prints what would change (files as \
            diffs, secrets masked) and exits 2 when something would, 0 when nothing would. Inputs \
            are remembered in /etc/molecule-tenant/install.json; the log of each run is under \
            /var/log/molecule-tenant/. Supported: \(Platform.supportedList). Never prompts.

            Inputs: flags, or the environment (MOLECULE_ORG_ID, MOLECULE_PLATFORM_URL, \
            TENANT_PUBLIC_URL, PORT, BIND_ADDR).

            Examples:
              sudo molecule-tenant install --plan
              sudo molecule-tenant install
              sudo molecule-tenant install --org-id ORG --platform-url https://platform.example \\
                --registration-token-file /root/registration-token
              sudo molecule-tenant install --database-url postgres://molecule@db.internal/molecule --json
            """
    )
    @OptionGroup var global: GlobalOptions
    @Flag(help: "Print what would change and exit 2 if anything would (0 when nothing would).") var plan = false
    @Flag(help: "Install even below the RAM and disk floors.") var force = false
    @Option(help: "Organisation id on the platform (with --platform-url: register this tenant).") var orgId: String?
    @Option(name: .customLong("platform-url"), help: "Platform URL to register with (https; http only for loopback).") var platformURL: String?
    @Option(help: ArgumentHelp("File holding the platform's one-time registration token; - reads stdin.", valueName: "FILE")) var registrationTokenFile: String?
    @Option(name: .customLong("database-url"), help: "Use this existing PostgreSQL (with pgvector) instead of installing one.") var databaseURL: String?
    @Option(name: .customLong("redis-url"), help: "Use this existing Redis instead of installing one.") var redisURL: String?
    @Option(help: "Port of the tenant API (default 8080).") var port: Int?
    @Option(name: .customLong("bind-addr"), help: "Address the tenant API listens on (default 0.0.0.0).") var bindAddress: String?
    @Option(name: .customLong("public-url"), help: "URL agents use to reach this tenant (default http://HOSTNAME:PORT).") var publicURL: String?
    @Option(help: "Seconds to wait for both services to report healthy.") var healthTimeout: Int = 120
    @Option(help: .hidden) var root: String = "/"

    func validate() throws {
        if let port, !(1...65535).contains(port) { throw ValidationError("--port must be between 1 and 65535") }
        if (orgId == nil) != (platformURL == nil) {
            throw ValidationError("--org-id and --platform-url go together: give both to register, or neither")
        }
        if healthTimeout < 1 { throw ValidationError("--health-timeout must be at least 1 second") }
    }

    func run() async throws {
        let context = try CommandContext.prepare(global, label: "install")
        let files = HostFiles(root: root)
        let installContext = try makeContext(files, environment: ProcessEnvironment.current(), context: context)
        let installer = Installer(context: installContext, steps: Installer.standardSteps(force: force, planOnly: plan))
        let output = InstallOutput(json: global.json, quiet: global.quiet, total: installer.steps.count)
        if plan {
            let report = await installer.plan(output.planEvent)
            output.planSummary(report, log: installContext.log.path)
            if report.failure != nil { throw ExitCode(1) }
            throw ExitCode(report.changeCount > 0 ? 2 : 0)
        }
        let started = MonotonicClock.seconds()
        let report = await installer.install(healthWait: Double(healthTimeout), output.installEvent)
        output.installSummary(report, seconds: MonotonicClock.seconds() - started, log: installContext.log.path)
        if report.failure != nil || report.healthy != true { throw ExitCode(1) }
    }

    /// Inputs: install.json of an earlier run < environment < flags.
    func makeContext(_ files: HostFiles, environment: [String: String], context: CommandContext) throws -> InstallContext {
        let release = OSRelease.parse(files.read("/etc/os-release") ?? "")
        let platform: Platform
        do { platform = try Platform.detect(release) } catch { throw CLIFailure(error.description) }

        var inputs = InstallInputs.load(files) ?? InstallInputs()
        let resolved = context.environment
        if let value = resolved["MOLECULE_ORG_ID"], resolved.origin(of: "MOLECULE_ORG_ID") == .environment { inputs.orgID = value }
        if let value = resolved["MOLECULE_PLATFORM_URL"], resolved.origin(of: "MOLECULE_PLATFORM_URL") == .environment { inputs.platformURL = value }
        if let value = resolved["TENANT_PUBLIC_URL"], resolved.origin(of: "TENANT_PUBLIC_URL") == .environment { inputs.publicURL = value }
        if let value = try resolved.int("PORT"), resolved.origin(of: "PORT") == .environment { inputs.port = value }
        if let value = resolved["BIND_ADDR"], resolved.origin(of: "BIND_ADDR") == .environment { inputs.bindAddress = value }
        if let orgId { inputs.orgID = orgId }
        if let platformURL { inputs.platformURL = platformURL }
        if let publicURL { inputs.publicURL = publicURL }
        if let port { inputs.port = port }
        if let bindAddress { inputs.bindAddress = bindAddress }
        if databaseURL != nil { inputs.externalDatabase = true }
        if redisURL != nil { inputs.externalRedis = true }
        if let platformURL = inputs.platformURL {
            do { try PlatformClient.validate(platformURL) } catch { throw CLIFailure(error.description) }
        }

        var secrets = InstallSecrets(databaseURL: databaseURL, redisURL: redisURL)
        if let path = registrationTokenFile {
            secrets.registrationToken = try Self.readToken(path)
        }
        let log = InstallLog(files: files, command: plan ? "install-plan" : "install")
        for value in [databaseURL, redisURL, secrets.registrationToken].compactMap({ $0 }) {
            log.addSecret(value)
            if let password = URLPassword.extract(from: value) { log.addSecret(password) }
        }
        log.line("molecule-tenant install\(plan ? " --plan" : ""): \(release.prettyName), root \(root)")
        return InstallContext(files: files, platform: platform, inputs: inputs, secrets: secrets,
                              binaryPath: Self.selfPath(), canQueryHost: root == "/", log: log)
    }

    /// The token from a file or stdin ("-"), trimmed; never from argv.
    static func readToken(_ path: String) throws -> String {
        let text: String
        if path == "-" {
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 4096)
            while true {
                let count = chunk.withUnsafeMutableBytes { read(STDIN_FILENO, $0.baseAddress, $0.count) }
                if count <= 0 { break }
                bytes.append(contentsOf: chunk[0..<count])
            }
            text = String(decoding: bytes, as: UTF8.self)
        } else {
            switch readTextFile(path) {
            case .success(let contents): text = contents
            case .failure(let error): throw CLIFailure("cannot read the registration token file \(path): \(error.message)")
            }
        }
        let token = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" || $0 == " " }).first.map(String.init) ?? ""
        guard !token.isEmpty else { throw CLIFailure("the registration token file \(path) is empty") }
        return token
    }

    static func selfPath() -> String {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard length > 0 else { return CommandLine.arguments[0] }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
