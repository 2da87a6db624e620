import ArgumentParser
import Bench

extension BenchCommand {
    struct HTTP: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "http",
            abstract: "GET one URL in a loop: requests/s and every request that did not get a 2xx.",
            discussion: """
                Each request opens a new connection unless --keep-alive. Run it across an upgrade: \
                `failures` must stay 0 (docs/upgrading.md).

                Example:
                  molecule-tenant bench http --url http://127.0.0.1:8080/health --concurrency 8 --seconds 20
                """
        )

        @OptionGroup var global: GlobalOptions
        @Option(help: "The URL to GET (http, IPv4).") var url: String
        @Option(help: "Workers, one connection each.") var concurrency: Int = 8
        @Option(help: "How long to run.") var seconds: Double = 10
        @Flag(help: "Reuse connections instead of opening one per request.") var keepAlive = false

        func validate() throws {
            guard (1...512).contains(concurrency) else { throw ValidationError("--concurrency must be between 1 and 512") }
            guard seconds > 0, seconds <= 3600 else { throw ValidationError("--seconds must be between 0 and 3600") }
        }

        func run() async throws {
            let context = try CommandContext.prepare(global, label: "bench")
            let rest = url.dropFirst("http://".count)
            let authority = rest.prefix { $0 != "/" }
            guard url.hasPrefix("http://"), let colon = authority.lastIndex(of: ":"),
                  let port = UInt16(authority[authority.index(after: colon)...])
            else { throw CLIFailure("--url must look like http://127.0.0.1:8080/health") }
            let path = rest.dropFirst(authority.count)
            let bench = HTTPLoopBenchmark(host: String(authority[..<colon]), port: port, path: path.isEmpty ? "/" : String(path),
                                          concurrency: concurrency, duration: .milliseconds(Int64(seconds * 1000)), keepAlive: keepAlive)
            let result = try await bench.run()
            try context.emit(result)
            if result.failures > 0 { throw ExitCode(1) }
        }
    }
}
