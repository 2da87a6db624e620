import ArgumentParser
import Bench
import TenantConfig

struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Built-in benchmarks; each prints one JSON line of figures.",
        subcommands: [PGLimit.self, Plugin.self, Server.self, HTTP.self]
    )

    struct Plugin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "plugin",
            abstract: "Load a running memory plugin: commits/s, search and listing p50/p99.",
            discussion: """
                Prefills the namespace, then runs commits, full-text searches and recent-first \
                listings for --seconds each at --concurrency keep-alive connections (--phases picks \
                some). Compare the commits/s with `bench pg-limit` at the same concurrency.

                Example:
                  molecule-tenant bench plugin --url http://127.0.0.1:9100 --concurrency 8 --seconds 10
                """
        )

        @OptionGroup var global: GlobalOptions
        @Option(help: "The plugin's base URL (http, IPv4).") var url: String = "http://127.0.0.1:9100"
        @Option(help: "Connections, one thread each.") var concurrency: Int = 8
        @Option(help: "Seconds per phase.") var seconds: Double = 10
        @Option(help: "Memories written before measuring.") var prefill: Int = 20000
        @Option(help: "Namespace to use (a fresh one by default).") var namespace: String?
        @Option(help: ArgumentHelp("Phases to measure, comma-separated: commit, search, listing (default: all).", valueName: "LIST"))
        var phases: String = "commit,search,listing"

        func validate() throws {
            guard (1...512).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 512") }
            guard seconds > 0, seconds <= 3600 else { throw ValidationError("--seconds must be between 0 and 3600") }
            guard prefill >= 0 else { throw ValidationError("--prefill must be 0 or more") }
        }

        func run() async throws {
            let context = try CommandContext.prepare(global, label: "bench")
            guard url.hasPrefix("http://"), let colon = url.dropFirst(7).lastIndex(of: ":"),
                let port = UInt16(url[url.index(after: colon)...].prefix(while: { $0.isNumber }))
            else { throw CLIFailure("--url must look like http://127.0.0.1:9100") }
            let host = String(url.dropFirst(7)[..<colon])
            let name = namespace ?? "custom:bench-\(UInt32.random(in: 0...UInt32.max))"
            var selected = Set<PluginBenchmark.Phase>()
            for word in phases.split(separator: ",") {
                guard let phase = PluginBenchmark.Phase(rawValue: String(word)) else {
                    throw CLIFailure("--phases: unknown phase '\(word)' (expected commit, search, listing)")
                }
                selected.insert(phase)
            }
            let bench = PluginBenchmark(host: host, port: port, concurrency: concurrency,
                                        duration: .milliseconds(Int64(seconds * 1000)), prefill: prefill, namespace: name, phases: selected)
            try context.emit(try await bench.run())
        }
    }

    struct PGLimit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "pg-limit",
            abstract: "The plugin's commit INSERT straight through libpq: the ceiling for plugin commits/s.",
            discussion: """
                Writes rows into the memory plugin's tables under namespace custom:bench-pg-limit \
                and deletes them afterwards (unless --keep).

                Example:
                  molecule-tenant bench pg-limit --dsn postgres://127.0.0.1:55432/bench --concurrency 8 --seconds 10
                """
        )

        @OptionGroup var global: GlobalOptions
        @Option(help: "libpq conninfo or URL (default: DATABASE_URL).") var dsn: String?
        @Option(help: "Connections, one thread each.") var concurrency: Int = 8
        @Option(help: "How long to run.") var seconds: Double = 10
        @Flag(help: "Keep the rows written.") var keep = false

        func validate() throws {
            guard (1...512).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 512") }
            guard seconds > 0, seconds <= 3600 else { throw ValidationError("--seconds must be between 0 and 3600") }
        }

        func run() async throws {
            let context = try CommandContext.prepare(global, label: "bench")
            let conninfo = ConninfoCompatibility.dropSearchPath(try dsn ?? context.environment.require("DATABASE_URL"))
            let bench = PGLimitBenchmark(conninfo: conninfo, concurrency: concurrency, duration: .milliseconds(Int64(seconds * 1000)))
            let result = try await bench.run()
            if !keep { try await PGLimitBenchmark.cleanUp(conninfo: conninfo) }
            try context.emit(result)
        }
    }

    struct Server: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "server",
            abstract: "What the server adds to memory round trips: commits and recalls through it vs straight to the plugin.",
            discussion: """
                Creates a workspace of its own through the admin API (ADMIN_TOKEN from the \
                environment or the config file, never a flag), registers it for a token, prefills \
                its namespace, then measures commits and recalls through the server and the same \
                operations straight to the plugin, --seconds each at --concurrency connections. \
                Run the server with RATE_LIMIT=0 so its limiter does not throttle the bench.

                Example:
                  ADMIN_TOKEN=... molecule-tenant bench server --url http://127.0.0.1:8080 \
                    --plugin-url http://127.0.0.1:9100 --concurrency 8 --seconds 10
                """
        )

        @OptionGroup var global: GlobalOptions
        @Option(help: "The server's base URL (http, IPv4).") var url: String = "http://127.0.0.1:8080"
        @Option(help: "The memory plugin's base URL (http, IPv4).") var pluginURL: String = "http://127.0.0.1:9100"
        @Option(help: "Connections, one thread each.") var concurrency: Int = 8
        @Option(help: "Seconds per phase.") var seconds: Double = 10
        @Option(help: "Memories written before measuring.") var prefill: Int = 2000

        func validate() throws {
            guard (1...512).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 512") }
            guard seconds > 0, seconds <= 3600 else { throw ValidationError("--seconds must be between 0 and 3600") }
            guard prefill >= 0 else { throw ValidationError("--prefill must be 0 or more") }
        }

        func run() async throws {
            let context = try CommandContext.prepare(global, label: "bench")
            let adminToken = try context.environment.require("ADMIN_TOKEN")
            let bench = ServerBenchmark(
                server: try endpoint(url, flag: "--url", example: "http://127.0.0.1:8080"),
                plugin: try endpoint(pluginURL, flag: "--plugin-url", example: "http://127.0.0.1:9100"),
                adminToken: adminToken, concurrency: concurrency, duration: .milliseconds(Int64(seconds * 1000)), prefill: prefill)
            do {
                try context.emit(try await bench.run())
            } catch let failure as ServerBenchmark.Failure {
                throw CLIFailure(failure.description)
            }
        }

        private func endpoint(_ url: String, flag: String, example: String) throws -> ServerBenchmark.Endpoint {
            guard url.hasPrefix("http://"), let colon = url.dropFirst(7).lastIndex(of: ":"),
                let port = UInt16(url[url.index(after: colon)...].prefix(while: { $0.isNumber }))
            else { throw CLIFailure("\(flag) must look like \(example)") }
            return ServerBenchmark.Endpoint(host: String(url.dropFirst(7)[..<colon]), port: port)
        }
    }
}
