import ArgumentParser

/// Flags every command accepts (DESIGN section 2).
public struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Read configuration from FILE instead of /etc/molecule-tenant/{tenant,secrets}.env.", valueName: "FILE"))
    var config: String?

    @Flag(name: .long, help: "Machine-readable output: JSON, or NDJSON events for long-running commands.")
    var json = false

    @Flag(name: .long, help: "Print only errors.")
    var quiet = false

    @Flag(name: .long, help: "Print debug logs.")
    var verbose = false

    public init() {}
}
