/// The counts of one run. Every scanned row ends in exactly one of copied (created or
/// updated), unchanged, skipped or errors; verify adds mismatched.
public struct BackfillSummary: Sendable, Equatable {
    public var mode: BackfillMode
    public var scanned = 0
    public var created = 0
    public var updated = 0
    public var unchanged = 0
    public var skippedByReason: [SkipReason: Int] = [:]
    public var errors = 0
    /// Verify only: rows the plugin does not hold as they should be.
    public var mismatched = 0
    /// Verify only: the first mismatched ids, in report order.
    public var firstMismatches: [String] = []

    public init(mode: BackfillMode) { self.mode = mode }

    public var copied: Int { created + updated }
    public var skipped: Int { skippedByReason.values.reduce(0, +) }

    /// The last line of every run; scripts parse it.
    public var line: String {
        var text = "backfill: scanned=\(scanned) copied=\(copied) unchanged=\(unchanged) skipped=\(skipped) errors=\(errors)"
        if mode == .verify { text += " mismatched=\(mismatched)" }
        return text
    }
}
