import ArgumentParser
import MemoryPlugin
import Postgres
import TenantConfig

struct MemoryPluginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "memory-plugin",
        abstract: "Run the memory service (memory-plugin v1 contract) on MEMORY_PLUGIN_LISTEN_ADDR (127.0.0.1:9100).",
        discussion: """
            Stores memories in PostgreSQL schema memory_plugin (MEMORY_PLUGIN_DATABASE_URL, \
            default DATABASE_URL). Applies its migrations at boot unless \
            MEMORY_PLUGIN_SKIP_MIGRATE=1, waits for the database instead of dying, and drains \
            on SIGTERM. Pool size: MEMORY_PLUGIN_DB_POOL (default 2 x cores + 2). A statement \
            running longer than MEMORY_PLUGIN_STATEMENT_TIMEOUT (default 5s) is cancelled and its \
            request answered 503. Expired memories are deleted every MEMORY_PLUGIN_JANITOR_INTERVAL \
            (default 60s). With pgvector, embeddings have MEMORY_PLUGIN_EMBEDDING_DIMS dimensions \
            (default 1536). All settings: docs/configuration.md.

            Example:
              MEMORY_PLUGIN_DATABASE_URL=postgres:///molecule molecule-tenant memory-plugin
            """
    )
    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let context = try CommandContext.prepare(global, label: "memory-plugin")
        try StartRefusal.check(server: false)
        try await MemoryPluginServer.run(Self.configuration(from: context.environment), logger: context.logger)
    }

    /// DESIGN section 3's plugin variables, validated; shared with `run`.
    static func configuration(from environment: TenantEnvironment) throws -> PluginConfiguration {
        let databaseURL = try environment["MEMORY_PLUGIN_DATABASE_URL"] ?? environment.require("DATABASE_URL")
        let (host, port) = try ListenAddress.parse(environment["MEMORY_PLUGIN_LISTEN_ADDR"] ?? "127.0.0.1:9100", variable: "MEMORY_PLUGIN_LISTEN_ADDR")
        let poolSize = try environment.int("MEMORY_PLUGIN_DB_POOL") ?? (2 * System.coreCount + 2)
        guard (1...1000).contains(poolSize) else { throw CLIFailure("MEMORY_PLUGIN_DB_POOL must be between 1 and 1000") }
        return PluginConfiguration(
            databaseURL: ConninfoCompatibility.dropSearchPath(databaseURL),
            host: host,
            port: port,
            skipMigrate: try environment.bool("MEMORY_PLUGIN_SKIP_MIGRATE") ?? false,
            poolSize: poolSize,
            janitorInterval: try janitorInterval(environment),
            embeddingDimensions: try environment.int("MEMORY_PLUGIN_EMBEDDING_DIMS") ?? 1536,
            statementTimeout: try statementTimeout(environment)
        )
    }
}

extension MemoryPluginCommand {
    /// Zero would have the janitor delete back to back without a pause.
    static func janitorInterval(_ environment: TenantEnvironment) throws -> Duration {
        guard let interval = try environment.duration("MEMORY_PLUGIN_JANITOR_INTERVAL") else { return .seconds(60) }
        guard interval >= .milliseconds(100) else { throw CLIFailure("MEMORY_PLUGIN_JANITOR_INTERVAL must be at least 100ms") }
        return interval
    }

    static func statementTimeout(_ environment: TenantEnvironment) throws -> Duration {
        guard let timeout = try environment.duration("MEMORY_PLUGIN_STATEMENT_TIMEOUT") else { return .seconds(5) }
        guard timeout >= .milliseconds(100), timeout <= .seconds(3600) else {
            throw CLIFailure("MEMORY_PLUGIN_STATEMENT_TIMEOUT must be between 100ms and 1h")
        }
        return timeout
    }
}

/// `host:port` listen addresses ("[::1]:9100" for IPv6).
enum ListenAddress {
    static func parse(_ text: String, variable: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (1...65535).contains(port) else {
            throw CLIFailure("\(variable)=\(text) is not valid: expected HOST:PORT, e.g. 127.0.0.1:9100")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "0.0.0.0" : host, port)
    }
}

/// The reference appends `search_path=memory_plugin,public` to its database URL, which
/// Go's drivers pass through but libpq refuses as an unknown URI parameter. Our SQL is
/// schema-qualified, so the parameter is dropped and such URLs keep working.
enum ConninfoCompatibility {
    static func dropSearchPath(_ url: String) -> String {
        guard url.contains("://"), let question = url.firstIndex(of: "?") else { return url }
        let kept = url[url.index(after: question)...].split(separator: "&").filter { !$0.hasPrefix("search_path=") }
        return String(url[..<question]) + (kept.isEmpty ? "" : "?" + kept.joined(separator: "&"))
    }
}
