import Foundation
import Testing
import TestSupport
import Upgrades

/// `status` shows how upgrades on this host ended (upgrades.json), next to the running version.
@Suite struct StatusUpgradesTests {
    func status(root: String) throws -> [String: Any] {
        let outcome = try MoleculeTenantBinary.run(["status", "--json", "--root", root, "--config", "/dev/null"])
        let json = try #require(outcome.stdout.split(separator: "\n").last, "\(outcome.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
    }

    @Test func statusReportsTheLastUpgradeTheTimerRunAndRejectedReleases() throws {
        let scratch = try ReleaseScratch()
        defer { scratch.remove() }
        let root = scratch.directory + "/root"
        try FileManager.default.createDirectory(atPath: root + "/var/lib/molecule-tenant", withIntermediateDirectories: true)
        // What Upgrader and AutoUpdate write after an upgrade, a rolled-back one and a skipping timer run.
        try """
            {"current": "1.0.1", "rejected": ["1.0.2"], "history": [
              {"from": "1.0.0", "to": "1.0.1", "outcome": "succeeded", "started_at": "2026-12-03T09:00:00Z", "finished_at": "2026-12-03T09:00:09Z"},
              {"from": "1.0.1", "to": "1.0.2", "outcome": "rolled_back", "reason": "the server did not start",
               "started_at": "2026-12-03T09:01:00Z", "finished_at": "2026-12-03T09:01:04Z"}],
             "last_auto_update": {"at": "2026-12-03T09:05:00Z", "outcome": "skipped", "target": "1.0.2"}}
            """.write(toFile: root + HostLayout().upgradesFile, atomically: true, encoding: .utf8)

        let upgrades = try #require(try status(root: root)["upgrades"] as? [String: Any])
        #expect(upgrades["current"] as? String == "1.0.1")
        #expect(upgrades["rejected"] as? [String] == ["1.0.2"])
        let last = try #require(upgrades["last_upgrade"] as? [String: Any])
        #expect(last["to"] as? String == "1.0.2" && last["outcome"] as? String == "rolled_back" && last["reason"] as? String == "the server did not start")
        #expect((upgrades["last_auto_update"] as? [String: Any])?["outcome"] as? String == "skipped")
    }

    @Test func aHostWithoutUpgradesReportsNoneAndAnUnreadableLedgerIsNamed() throws {
        let scratch = try ReleaseScratch()
        defer { scratch.remove() }
        let root = scratch.directory + "/root"
        let none = try #require(try status(root: root)["upgrades"] as? [String: Any])
        #expect(none["last_upgrade"] == nil && none["rejected"] as? [String] == [] && none["detail"] == nil)

        try FileManager.default.createDirectory(atPath: root + "/var/lib/molecule-tenant", withIntermediateDirectories: true)
        try "not json".write(toFile: root + HostLayout().upgradesFile, atomically: true, encoding: .utf8)
        let broken = try #require(try status(root: root)["upgrades"] as? [String: Any])
        #expect((broken["detail"] as? String)?.contains("upgrades.json") == true, "\(broken)")
    }

    @Test func anUpgradeEntryCarriesNullForNoReasonAndNoPreviousRelease() throws {
        let entry = try JSONDecoder().decode(UpgradeLedger.Entry.self, from: Data(
            #"{"to": "1.0.1", "outcome": "succeeded", "started_at": "2026-12-03T09:00:00Z", "finished_at": "2026-12-03T09:00:09Z"}"#.utf8))
        let encoded = try #require(try JSONSerialization.jsonObject(with: JSONEncoder().encode(entry)) as? [String: Any])
        #expect(encoded["reason"] is NSNull && encoded["from"] is NSNull, "the platform sees every key of last_upgrade: \(encoded)")
        #expect(encoded["to"] as? String == "1.0.1")
    }
}
