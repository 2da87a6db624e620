import FoundationEssentials
import Installer

#if canImport(Glibc)
import Glibc
#endif

/// How install reports: NDJSON events with --json, a progress line per step with timings
/// on a terminal, plain lines otherwise. Nothing here ever holds a secret: changes carry
/// masked diffs only.
struct InstallOutput {
    let json: Bool
    let quiet: Bool
    let total: Int
    let terminal = isatty(STDOUT_FILENO) == 1
    private let index = Counter()

    init(json: Bool, quiet: Bool, total: Int) {
        self.json = json
        self.quiet = quiet
        self.total = total
    }

    final class Counter: @unchecked Sendable { var value = 0 }

    struct StepEvent: Encodable {
        let event = "step"
        let step: String
        let title: String
        let status: String
        let changes: [Change]
        let notes: [String]
        let seconds: Double
        let error: String?
    }

    struct HealthEvent: Encodable {
        let event = "health"
        let healthy: Bool
        let plugin: String
        let server: String
        let seconds: Double
    }

    struct ResultEvent: Encodable {
        let event = "result"
        let mode: String
        let changes: Int
        let healthy: Bool?
        let rolledBack: Bool
        let error: String?
        let seconds: Double?
        let log: String?

        enum CodingKeys: String, CodingKey {
            case event, mode, changes, healthy, error, seconds, log
            case rolledBack = "rolled_back"
        }
    }

    func emit<Value: Encodable>(_ value: Value) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        if let data = try? encoder.encode(value) { Output.standard(String(decoding: data, as: UTF8.self)) }
    }

    func say(_ line: String) {
        guard !quiet, !json else { return }
        Output.standard(line)
    }

    func stepEvent(_ result: Installer.StepResult) -> StepEvent {
        StepEvent(step: result.step, title: result.title, status: result.status, changes: result.changes, notes: result.notes,
                  seconds: (result.seconds * 1000).rounded() / 1000, error: result.error)
    }

    func planEvent(_ event: Installer.Event) {
        guard case .stepFinished(let result) = event else { return }
        if json { emit(stepEvent(result)); return }
        if let error = result.error {
            Output.error("\(result.step): \(error)")
            return
        }
        guard !result.changes.isEmpty else { return }
        index.value += 1
        say("\(index.value). \(result.step): \(result.title)")
        for change in result.changes {
            say("   - \(change.summary)")
            if let detail = change.detail {
                for line in detail.split(separator: "\n") { say("       \(line)") }
            }
        }
    }

    func planSummary(_ report: Installer.Report, log: String?) {
        if json {
            emit(ResultEvent(mode: "plan", changes: report.changeCount, healthy: nil, rolledBack: false, error: report.failure, seconds: nil, log: log))
            return
        }
        if report.failure != nil { return }
        say(report.changeCount == 0 ? "plan: nothing to change" : "plan: \(report.changeCount) change(s) in \(index.value) step(s)")
    }

    func installEvent(_ event: Installer.Event) {
        switch event {
        case .stepStarted(let name, let title):
            index.value += 1
            if terminal && !json && !quiet { printPartial("[\(pad(index.value))/\(total)] \(name): \(title) ...") }
        case .stepFinished(let result):
            if json { emit(stepEvent(result)); return }
            let status = result.status == "ok" ? "ok" : result.status
            let line = "[\(pad(index.value))/\(total)] \(result.step): \(status) (\(Format.seconds(result.seconds)))"
            if terminal && !quiet { printPartial("\r\u{1B}[K") }
            if let error = result.error {
                Output.error("\(line)\n\(error)")
                return
            }
            say(line)
            for change in result.changes { say("       \(change.summary)") }
            if terminal { for note in result.notes { say("       note: \(note)") } }
        case .health(let health, let seconds):
            if json {
                emit(HealthEvent(healthy: health.healthy, plugin: health.plugin, server: health.server, seconds: (seconds * 1000).rounded() / 1000))
                return
            }
            say("health: plugin \(health.plugin), server \(health.server) (\(Format.seconds(seconds)))")
        }
    }

    func installSummary(_ report: Installer.Report, seconds: Double, log: String?) {
        if json {
            emit(ResultEvent(mode: "install", changes: report.changeCount, healthy: report.healthy, rolledBack: report.rolledBack,
                             error: report.failure, seconds: (seconds * 10).rounded() / 10, log: log))
            return
        }
        let where_ = log.map { " (log: \($0))" } ?? ""
        if let failure = report.failure {
            let after = report.rolledBack ? (report.steps.contains { $0.status == "changed" } ? "; the services were put back as they were before this run" : "") : ""
            Output.error("install failed: \(failure)\(after)\(where_)")
            return
        }
        say(report.changeCount == 0
            ? "install: nothing to change, tenant healthy (\(Format.seconds(seconds)))\(where_)"
            : "install: \(report.changeCount) change(s), tenant healthy (\(Format.seconds(seconds)))\(where_)")
    }

    private func pad(_ value: Int) -> String { value < 10 && total >= 10 ? " \(value)" : "\(value)" }

    private func printPartial(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }
    }
}
