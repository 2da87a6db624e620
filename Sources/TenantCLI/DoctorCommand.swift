import ArgumentParser
import Installer

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the installed tenant and say what to fix (exit 3 when a check fails).",
        discussion: """
            Checks the units, PostgreSQL (pgvector version, schema, search_path), Redis (keyspace \
            events), ports, health, the clock and free disk. Each problem comes with its fix.

            Examples:
              sudo molecule-tenant doctor
              sudo molecule-tenant doctor --json
            """
    )
    @OptionGroup var global: GlobalOptions
    @Option(help: .hidden) var root: String = "/"

    func run() async throws {
        let context = try CommandContext.prepare(global, label: "doctor")
        let findings = Doctor.run(HostFiles(root: root))
        let problems = findings.filter { $0.status == "problem" }
        if global.json {
            for finding in findings { try context.emit(finding) }
        } else {
            for finding in findings where finding.status != "ok" || global.verbose {
                context.say("\(finding.status): \(finding.check): \(finding.detail)")
                if let fix = finding.fix { context.say("  fix: \(fix)") }
            }
            let warnings = findings.filter { $0.status == "warning" }.count
            context.say("doctor: \(findings.count) checks, \(problems.count) problem(s), \(warnings) warning(s)")
        }
        if !problems.isEmpty { throw ExitCode(3) }
    }
}
