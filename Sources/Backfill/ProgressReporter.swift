import FoundationEssentials
import MemoryContract
import TenantLogging

#if canImport(Glibc)
import Glibc
#endif

/// How a run reports: NDJSON events on stdout with --json; otherwise a live progress
/// line on a terminal (rows, rows/s, ETA) or a line every few seconds elsewhere, the
/// first rows of each problem kind, and the summary line last.
public final class ProgressReporter {
    public struct Style: Sendable {
        public var json: Bool
        /// stderr is a terminal: redraw one progress line in place.
        public var terminal: Bool
        public var quiet: Bool

        public init(json: Bool, terminal: Bool, quiet: Bool) {
            self.json = json
            self.terminal = terminal
            self.quiet = quiet
        }
    }

    /// Problem rows printed one by one in text mode; --json prints them all.
    static let textDetailLimit = 20

    private let style: Style
    private let started = ContinuousClock.now
    private var lastDraw = ContinuousClock.now
    private var total = 0
    private var mode = BackfillMode.apply
    private var detailsShown: [String: Int] = [:]
    private var drewProgress = false
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public init(style: Style) {
        self.style = style
    }

    func start(mode: BackfillMode, total: Int, tables: [LegacyTable], batchSize: Int, embeddings: String) {
        self.mode = mode
        self.total = total
        if style.json {
            emit(StartEvent(mode: mode.rawValue, total: total, tables: tables.map(\.rawValue), batchSize: batchSize, embeddings: embeddings))
        } else {
            say("backfill \(mode.rawValue): \(total) legacy rows in \(tables.map(\.rawValue).joined(separator: ", ")); embeddings: \(embeddings)")
        }
    }

    func skipped(_ record: LegacyRecord, _ reason: SkipReason) {
        if style.json {
            emit(RowEvent(event: "skip", table: record.table.rawValue, id: record.id, workspaceID: record.workspaceID, reason: reason.rawValue))
        } else if shouldDetail("skip") {
            say("skip \(record.table.rawValue) id=\(record.id) workspace=\(record.workspaceID ?? "none"): \(reason.rawValue)")
        }
    }

    func failed(_ row: MappedRow, _ error: ContractError) {
        if style.json {
            emit(RowEvent(event: "error", table: row.record.table.rawValue, id: row.record.id, workspaceID: row.record.workspaceID,
                          namespace: row.namespace, status: error.status, message: error.message))
        } else if shouldDetail("error") {
            say("error \(row.record.table.rawValue) id=\(row.record.id) namespace=\(row.namespace): \(error.status) \(error.message)")
        }
    }

    func mismatched(_ expectation: Expectation, _ problem: String) {
        if style.json {
            emit(RowEvent(event: "mismatch", table: expectation.record.table.rawValue, id: expectation.record.id,
                          workspaceID: expectation.record.workspaceID, namespace: expectation.namespace, problem: problem))
        } else if shouldDetail("mismatch") {
            say("mismatch \(expectation.record.table.rawValue) id=\(expectation.record.id) namespace=\(expectation.namespace): \(problem)")
        }
    }

    func note(_ message: String) {
        if style.json { emit(NoteEvent(message: message)) } else { say(message) }
    }

    /// Called after every batch; draws at most a few times a second.
    func progress(_ summary: BackfillSummary, force: Bool = false) {
        let now = ContinuousClock.now
        let interval: Duration = style.terminal && !style.json ? .milliseconds(200) : .seconds(style.json ? 1 : 5)
        guard force || now - lastDraw >= interval, !style.quiet else { return }
        lastDraw = now
        let (rate, eta) = pace(summary.scanned)
        if style.json {
            emit(ProgressEvent(scanned: summary.scanned, total: total, copied: summary.copied, unchanged: summary.unchanged,
                               skipped: summary.skipped, errors: summary.errors, rowsPerSecond: rate, etaSeconds: eta))
            return
        }
        let percent = total > 0 ? min(100, summary.scanned * 100 / total) : 100
        let text = "\(summary.scanned)/\(total) rows (\(percent)%)  \(rate) rows/s  ETA \(Self.format(seconds: eta))"
        if style.terminal {
            raw("\r\u{1B}[K" + text)
            drewProgress = true
        } else {
            say("progress: " + text)
        }
    }

    func finish(_ summary: BackfillSummary) {
        clearProgress()
        let elapsed = seconds(since: started)
        if style.json {
            let (rate, _) = pace(summary.scanned)
            emit(SummaryEvent(summary: summary, elapsedSeconds: elapsed, rowsPerSecond: rate))
            return
        }
        for kind in ["skip", "error", "mismatch"] {
            if let shown = detailsShown[kind], shown > Self.textDetailLimit {
                say("... \(shown - Self.textDetailLimit) more \(kind) rows not shown (--json lists every row)")
            }
        }
        if !summary.skippedByReason.isEmpty {
            say("skipped by reason: " + summary.skippedByReason.sorted { $0.key < $1.key }.map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: " "))
        }
        if summary.mode == .dryRun {
            say("dry run: nothing was written; copied counts the rows --apply would create (\(summary.created)) or update (\(summary.updated))")
        }
        let (rate, _) = pace(summary.scanned)
        if !style.quiet { say("took \(Self.format(seconds: Int(elapsed.rounded())))s at \(rate) rows/s") }
        LineOutput.write(summary.line, to: STDOUT_FILENO)
    }

    /// Before a fatal line on stderr, so it does not land in the middle of a progress line.
    func clearProgress() {
        if drewProgress {
            raw("\r\u{1B}[K")
            drewProgress = false
        }
    }

    // MARK: - Helpers

    private func pace(_ scanned: Int) -> (rate: Int, eta: Int) {
        let elapsed = seconds(since: started)
        let rate = elapsed > 0 ? Int(Double(scanned) / elapsed) : 0
        let eta = rate > 0 ? max(0, total - scanned) / rate : 0
        return (rate, eta)
    }

    private func seconds(since instant: ContinuousClock.Instant) -> Double {
        let (seconds, attoseconds) = (ContinuousClock.now - instant).components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    static func format(seconds: Int) -> String {
        seconds >= 3600 ? "\(seconds / 3600)h\(seconds % 3600 / 60)m" : seconds >= 60 ? "\(seconds / 60)m\(seconds % 60)s" : "\(seconds)s"
    }

    private func shouldDetail(_ kind: String) -> Bool {
        let shown = detailsShown[kind, default: 0]
        detailsShown[kind] = shown + 1
        return shown < Self.textDetailLimit
    }

    private func say(_ line: String) {
        guard !style.quiet else { return }
        clearProgress()
        LineOutput.write(line, to: STDOUT_FILENO)
    }

    private func raw(_ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { _ = Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }

    private func emit<Event: Encodable>(_ event: Event) {
        guard let data = try? encoder.encode(event) else { return }
        LineOutput.write(String(decoding: data, as: UTF8.self), to: STDOUT_FILENO)
    }
}

// MARK: - NDJSON events

private struct StartEvent: Encodable {
    let event = "start"
    var mode: String
    var total: Int
    var tables: [String]
    var batchSize: Int
    var embeddings: String

    enum CodingKeys: String, CodingKey {
        case event, mode, total, tables, embeddings
        case batchSize = "batch_size"
    }
}

private struct RowEvent: Encodable {
    var event: String
    var table: String
    var id: String
    var workspaceID: String?
    var namespace: String?
    var reason: String?
    var status: Int?
    var message: String?
    var problem: String?

    enum CodingKeys: String, CodingKey {
        case event, table, id, namespace, reason, status, message, problem
        case workspaceID = "workspace_id"
    }
}

private struct NoteEvent: Encodable {
    let event = "note"
    var message: String
}

private struct ProgressEvent: Encodable {
    let event = "progress"
    var scanned: Int
    var total: Int
    var copied: Int
    var unchanged: Int
    var skipped: Int
    var errors: Int
    var rowsPerSecond: Int
    var etaSeconds: Int

    enum CodingKeys: String, CodingKey {
        case event, scanned, total, copied, unchanged, skipped, errors
        case rowsPerSecond = "rows_per_second"
        case etaSeconds = "eta_seconds"
    }
}

private struct SummaryEvent: Encodable {
    var summary: BackfillSummary
    var elapsedSeconds: Double
    var rowsPerSecond: Int

    enum CodingKeys: String, CodingKey {
        case event, mode, scanned, copied, created, updated, unchanged, skipped, errors, mismatched
        case skippedByReason = "skipped_by_reason"
        case firstMismatches = "first_mismatches"
        case elapsedSeconds = "elapsed_seconds"
        case rowsPerSecond = "rows_per_second"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("summary", forKey: .event)
        try container.encode(summary.mode.rawValue, forKey: .mode)
        try container.encode(summary.scanned, forKey: .scanned)
        try container.encode(summary.copied, forKey: .copied)
        try container.encode(summary.created, forKey: .created)
        try container.encode(summary.updated, forKey: .updated)
        try container.encode(summary.unchanged, forKey: .unchanged)
        try container.encode(summary.skipped, forKey: .skipped)
        try container.encode(summary.errors, forKey: .errors)
        if summary.mode == .verify {
            try container.encode(summary.mismatched, forKey: .mismatched)
            try container.encode(summary.firstMismatches, forKey: .firstMismatches)
        }
        try container.encode(Dictionary(uniqueKeysWithValues: summary.skippedByReason.map { ($0.key.rawValue, $0.value) }), forKey: .skippedByReason)
        try container.encode((elapsedSeconds * 1000).rounded() / 1000, forKey: .elapsedSeconds)
        try container.encode(rowsPerSecond, forKey: .rowsPerSecond)
    }
}
