import FoundationEssentials
import Releases

/// `/var/lib/molecule-tenant/upgrades.json`: every upgrade's outcome, and the versions that
/// failed their health gate on this host (the timer never tries those again).
public struct UpgradeLedger: Codable, Sendable {
    public struct Entry: Codable, Sendable, Equatable {
        public var from: String?
        public var to: String
        /// "succeeded", "rolled_back", "rollback_failed", "refused", "failed"
        public var outcome: String
        public var reason: String?
        public var startedAt: String
        public var finishedAt: String

        enum CodingKeys: String, CodingKey {
            case from, to, outcome, reason
            case startedAt = "started_at"
            case finishedAt = "finished_at"
        }

        // `from` and `reason` are null, not absent, when there is none: the status report
        // (docs/platform-protocol.md) and upgrades.json always carry every key.
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(from, forKey: .from)
            try container.encode(to, forKey: .to)
            try container.encode(outcome, forKey: .outcome)
            try container.encode(reason, forKey: .reason)
            try container.encode(startedAt, forKey: .startedAt)
            try container.encode(finishedAt, forKey: .finishedAt)
        }
    }

    /// How the last `upgrade --auto` run ended (kept apart from `history`, which only holds
    /// upgrades that were attempted: the timer runs every five minutes).
    public struct AutoRun: Codable, Sendable, Equatable {
        public var at: String
        /// An `AutoUpdate.Outcome` raw value.
        public var outcome: String
        /// The release it followed (the platform's target_version or the channel's), when known.
        public var target: String?
        public var reason: String?
    }

    public var current: String?
    public var rejected: [String] = []
    public var history: [Entry] = []
    public var lastAutoUpdate: AutoRun?

    enum CodingKeys: String, CodingKey {
        case current, rejected, history
        case lastAutoUpdate = "last_auto_update"
    }

    public init() {}

    public static func load(_ path: String) throws -> UpgradeLedger {
        guard FileBytes.exists(path) else { return UpgradeLedger() }
        do {
            return try JSONDecoder().decode(UpgradeLedger.self, from: Data(try FileBytes.read(path, limit: 16 << 20)))
        } catch let error as ReleaseError {
            throw error
        } catch {
            throw ReleaseError.unreadable(path: path, reason: "not valid JSON: \(error)")
        }
    }

    public func save(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try FileBytes.makeDirectories(parentDirectory(path))
        try FileBytes.write(Array(try encoder.encode(self)) + [0x0A], to: path)
    }

    /// The outcome of the last run, for `status`.
    public var lastUpgrade: Entry? { history.last }

    public mutating func record(_ entry: Entry, keep: Int = 100) {
        history.append(entry)
        if history.count > keep { history.removeFirst(history.count - keep) }
        if entry.outcome == "succeeded" { current = entry.to }
        // A release that failed its gate is rejected whether or not going back worked.
        if entry.outcome == "rolled_back" || entry.outcome == "rollback_failed", !rejected.contains(entry.to) { rejected.append(entry.to) }
    }
}
