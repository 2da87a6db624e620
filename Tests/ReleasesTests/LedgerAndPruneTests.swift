import Foundation
import Testing
@testable import Upgrades

/// What upgrades.json rejects and which releases stay on disk for rollback.
@Suite struct LedgerAndPruneTests {
    static func entry(_ to: String, _ outcome: String) -> UpgradeLedger.Entry {
        .init(from: "1.0.0", to: to, outcome: outcome, reason: nil, startedAt: "2026-12-03T09:00:00Z", finishedAt: "2026-12-03T09:00:05Z")
    }

    @Test func aReleaseIsRejectedWhenItsGateFailedWhetherOrNotGoingBackWorked() {
        var ledger = UpgradeLedger()
        ledger.record(Self.entry("1.0.1", "succeeded"))
        ledger.record(Self.entry("1.0.2", "rolled_back"))
        ledger.record(Self.entry("1.0.3", "rollback_failed"))
        ledger.record(Self.entry("1.0.4", "failed"))
        ledger.record(Self.entry("1.0.5", "refused"))
        #expect(ledger.rejected == ["1.0.2", "1.0.3"], "a host problem (failed) or a preflight refusal rejects nothing")
        #expect(ledger.current == "1.0.1")
    }

    @Test func pruningRemovesRejectedReleasesBeforeOnesThatCanBeRolledBackTo() throws {
        let root = NSTemporaryDirectory() + "prune-\(UUID().uuidString.prefix(8))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let layout = HostLayout(root: root)
        for version in ["1.0.0", "1.0.1", "1.0.2+refuse-start", "1.0.3", "0.9.0"] {
            try FileManager.default.createDirectory(atPath: layout.releaseDirectory(version), withIntermediateDirectories: true)
            FileManager.default.createFile(atPath: layout.releaseBinary(version), contents: Data("binary".utf8))
        }
        let releases = InstalledReleases(layout: layout)
        // 1.0.3 now serves, replacing 1.0.1; the broken 1.0.2 must not take 1.0.0's place.
        releases.prune(keeping: ["1.0.3", "1.0.1"], rejected: ["1.0.2+refuse-start"])
        #expect(Set(releases.versions()) == ["1.0.3", "1.0.1", "1.0.0"])
    }
}
