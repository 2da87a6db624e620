import FoundationEssentials
import Logging
import TenantConfig
import TenantLogging

#if canImport(Glibc)
import Glibc
#endif

/// What every command starts from: resolved configuration, logging set up with the
/// redactor, and output helpers that respect --json and --quiet.
struct CommandContext {
    let environment: TenantEnvironment
    let options: GlobalOptions
    let logger: Logger

    /// Resolves configuration (defaults < file < environment < `flags`) and bootstraps logging.
    static func prepare(_ options: GlobalOptions, label: String, flags: [String: String] = [:]) throws -> CommandContext {
        let environment = try TenantEnvironment.resolve(configFile: options.config, flags: flags)
        let level: Logger.Level
        if options.verbose {
            level = .debug
        } else if options.quiet {
            level = .error
        } else {
            guard let configured = TenantLogging.level(environment["LOG_LEVEL"]) else {
                throw CLIFailure("LOG_LEVEL=\(environment["LOG_LEVEL"] ?? "") is not valid: use trace, debug, info, notice, warn, error or critical")
            }
            level = configured
        }
        guard let format = LogFormat.resolve(environment["LOG_FORMAT"]) else {
            throw CLIFailure("LOG_FORMAT=\(environment["LOG_FORMAT"] ?? "") is not valid: use text or json")
        }
        LoggingBootstrap.once(level: level, format: format, secrets: environment.secretValues)
        return CommandContext(environment: environment, options: options, logger: Logger(label: label))
    }

    /// A line for people; suppressed by --quiet and --json.
    func say(_ line: String) {
        guard !options.quiet, !options.json else { return }
        Output.standard(line)
    }

    /// One JSON value on its own line (used for --json results and NDJSON events).
    func emit<Value: Encodable>(_ value: Value) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        Output.standard(String(decoding: try encoder.encode(value), as: UTF8.self))
    }
}

/// LoggingSystem.bootstrap may run only once per process.
enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false

    static func once(level: Logger.Level, format: LogFormat, secrets: [String]) {
        // Called from the main command path before any concurrency starts.
        guard !done else { return }
        done = true
        TenantLogging.bootstrap(level: level, format: format, secrets: secrets)
    }
}

/// Results go to stdout, diagnostics to stderr.
enum Output {
    static func standard(_ line: String) { LineOutput.write(line, to: STDOUT_FILENO) }
    static func error(_ line: String) { LineOutput.write(line, to: STDERR_FILENO) }
}

/// A failure to report as one readable line and a non-zero exit code.
struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    let exitCode: Int32

    init(_ message: String, exitCode: Int32 = 1) {
        self.description = message
        self.exitCode = exitCode
    }
}
