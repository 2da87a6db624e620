import Foundation
import Testing
import TestSupport
import Upgrades

/// `upgrade --auto`, the auto-update timer's command, as a child process against a host under
/// a root prefix (1.0.0 installed, a signed 1.0.1 that needs NEW_SECRET published on the
/// channel, so any attempt to move shows as a refusal): AUTO_UPDATE=0, UPDATE_WINDOW, the
/// rejected-version skip, the platform's target_version over the channel, and the status
/// report a stub platform receives. Moving under load is Tests/release/upgrade.sh.
@Suite(.serialized) struct AutoUpdateCommandTests {
    typealias Host = UpgradeCommandTests.Host

    func configure(_ host: Host, _ settings: [String], secrets: [String] = []) throws {
        let tenant = ["PORT=1", "MOLECULE_RELEASE_URL=file://\(host.scratch.directory)/dist"] + settings
        try (tenant.joined(separator: "\n") + "\n").write(toFile: host.root + "/etc/molecule-tenant/tenant.env", atomically: true, encoding: .utf8)
        try (secrets.joined(separator: "\n") + "\n").write(toFile: host.root + "/etc/molecule-tenant/secrets.env", atomically: true, encoding: .utf8)
        try host.publishChannel(version: "1.0.1")
    }

    func ledger(_ host: Host) throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: host.root + "/var/lib/molecule-tenant/upgrades.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func lastAuto(_ host: Host) throws -> [String: Any] { try #require(try ledger(host)["last_auto_update"] as? [String: Any]) }
    func history(_ host: Host) throws -> [[String: Any]] {
        guard FileManager.default.fileExists(atPath: host.root + "/var/lib/molecule-tenant/upgrades.json") else { return [] }
        return (try ledger(host)["history"] as? [[String: Any]]) ?? []
    }

    @Test func autoUpdateZeroLeavesTheHostAloneWhereOtherwiseItWouldMove() throws {
        let host = try Host()
        defer { host.scratch.remove() }
        try configure(host, ["AUTO_UPDATE=0"])
        let off = try host.upgrade(["--auto"])
        #expect(off.status == 0, "\(off.stderr)")
        #expect(try lastAuto(host)["outcome"] as? String == "disabled")
        #expect(try history(host).isEmpty)
        #expect(host.currentTarget.hasSuffix("/1.0.0/molecule-tenant"))

        try configure(host, ["AUTO_UPDATE=1"])
        let on = try host.upgrade(["--auto"])
        #expect(on.status == 1, "with auto-update on, the channel's 1.0.1 is tried (and refused: it needs NEW_SECRET)")
        #expect(on.stderr.contains("NEW_SECRET"), "\(on.stderr)")
        #expect(try lastAuto(host)["outcome"] as? String == "failed")
        #expect(try history(host).last?["outcome"] as? String == "refused")
    }

    @Test func outsideTheUpdateWindowNothingIsTried() throws {
        let host = try Host()
        defer { host.scratch.remove() }
        // A window that starts two hours from now and lasts one hour, in this host's local time.
        let now = UpdateWindow.localMinuteOfDay(Int(Date().timeIntervalSince1970))
        func clock(_ minutes: Int) -> String { String(format: "%02d:%02d", (minutes % 1440) / 60, minutes % 60) }
        try configure(host, ["UPDATE_WINDOW=\(clock(now + 120))-\(clock(now + 180))"])
        let outside = try host.upgrade(["--auto"])
        #expect(outside.status == 0, "\(outside.stderr)")
        let record = try lastAuto(host)
        #expect(record["outcome"] as? String == "outside_window")
        #expect((record["reason"] as? String)?.contains("UPDATE_WINDOW") == true)
        #expect(try history(host).isEmpty)

        try configure(host, ["UPDATE_WINDOW=\(clock(now + 1440 - 60))-\(clock(now + 60))"])
        let inside = try host.upgrade(["--auto"])
        #expect(inside.status == 1, "inside the window 1.0.1 is tried (and refused): \(inside.stdout)")

        try configure(host, ["UPDATE_WINDOW=02:00-05:00 nightly"])
        let malformed = try host.upgrade(["--auto"])
        #expect(malformed.status == 1)
        #expect(malformed.stderr.contains("UPDATE_WINDOW=02:00-05:00 nightly is not valid"), "\(malformed.stderr)")
    }

    @Test func aReleaseRejectedOnThisHostIsNeverTriedAgain() throws {
        let host = try Host()
        defer { host.scratch.remove() }
        try configure(host, [])
        try #"{"rejected": ["1.0.1"], "history": []}"#.write(toFile: host.root + "/var/lib/molecule-tenant/upgrades.json", atomically: true, encoding: .utf8)
        let skipped = try host.upgrade(["--auto"])
        #expect(skipped.status == 0, "\(skipped.stderr)")
        #expect(skipped.stdout.contains("not trying it again"), "\(skipped.stdout)")
        #expect(try lastAuto(host)["outcome"] as? String == "skipped")
        #expect(try lastAuto(host)["target"] as? String == "1.0.1")
        #expect(try history(host).isEmpty)
    }

    @Test func thePlatformsTargetVersionWinsOverTheChannelAndTheStatusIsReported() throws {
        let host = try Host()
        defer { host.scratch.remove() }
        let platform = try StubPlatform(configReply: #"{"config": {}, "target_version": "1.0.0"}"#)
        defer { platform.close() }
        try configure(host, ["MOLECULE_PLATFORM_URL=\(platform.url)", "MOLECULE_ORG_ID=org-42"], secrets: ["MOLECULE_CP_SHARED_SECRET=s3cret-shared"])

        // The channel has 1.0.1, the platform pins 1.0.0: the host stays.
        let pinned = try host.upgrade(["--auto"])
        #expect(pinned.status == 0, "\(pinned.stderr)")
        #expect(try lastAuto(host)["outcome"] as? String == "current")
        #expect(try lastAuto(host)["target"] as? String == "1.0.0")
        #expect(host.currentTarget.hasSuffix("/1.0.0/molecule-tenant"))
        let config = try #require(platform.requests.first)
        #expect(config.method == "GET" && config.path == "/cp/tenants/config")
        #expect(config.headers["authorization"] == "Bearer s3cret-shared" && config.headers["x-molecule-org-id"] == "org-42")
        let report = try #require(platform.statusReports.last)
        #expect(report.headers["authorization"] == "Bearer s3cret-shared" && report.headers["content-type"] == "application/json")
        let body = try #require(try JSONSerialization.jsonObject(with: Data(report.body.utf8)) as? [String: Any])
        #expect(body["version"] as? String == "1.0.0")
        #expect(body["health"] as? String == "down", "nothing serves on this test host")
        #expect(body["last_upgrade"] is NSNull, "\(report.body)")
        #expect(!pinned.stdout.contains("s3cret") && !pinned.stderr.contains("s3cret"))
    }

    @Test func aTargetTheHostCannotTakeIsReportedAsRefused() throws {
        let host = try Host()
        defer { host.scratch.remove() }
        let platform = try StubPlatform(configReply: #"{"target_version": "1.0.1"}"#)
        defer { platform.close() }
        try configure(host, ["MOLECULE_PLATFORM_URL=\(platform.url)", "MOLECULE_ORG_ID=org-42"], secrets: ["MOLECULE_CP_SHARED_SECRET=s3cret-shared"])
        try host.publishChannel(version: "1.0.0")
        let refused = try host.upgrade(["--auto"])
        #expect(refused.status == 1, "the platform's 1.0.1 is tried although the channel says 1.0.0")
        #expect(refused.stderr.contains("NEW_SECRET"), "\(refused.stderr)")
        let report = try #require(platform.statusReports.last)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(report.body.utf8)) as? [String: Any])
        let last = try #require(body["last_upgrade"] as? [String: Any])
        #expect(last["outcome"] as? String == "refused" && last["to"] as? String == "1.0.1")
        #expect(body["version"] as? String == "1.0.0")
    }

    @Test func anUnreachableOrOversizedPlatformMeansNoMoveThisRun() throws {
        let host = try Host()
        defer { host.scratch.remove() }
        let platform = try StubPlatform(configReply: #"{"target_version": "1.0.1", "pad": ""# + String(repeating: "x", count: 100 * 1024) + #""}"#)
        try configure(host, ["MOLECULE_PLATFORM_URL=\(platform.url)", "MOLECULE_ORG_ID=org-42"], secrets: ["MOLECULE_CP_SHARED_SECRET=s3cret-shared"])
        let oversized = try host.upgrade(["--auto"])
        #expect(oversized.status == 0, "\(oversized.stderr)")
        let record = try lastAuto(host)
        #expect(record["outcome"] as? String == "platform_unreachable")
        #expect((record["reason"] as? String)?.contains("64 KiB") == true, "\(record)")
        platform.close()
        let unreachable = try host.upgrade(["--auto"])
        #expect(unreachable.status == 0, "\(unreachable.stderr)")
        #expect(try lastAuto(host)["outcome"] as? String == "platform_unreachable")
        #expect(unreachable.stderr.contains("status report"), "the failed report is said: \(unreachable.stderr)")
        #expect(try history(host).isEmpty, "the channel's 1.0.1 is not tried while the platform cannot be asked")
    }

    @Test func platformSettingsThatCannotWorkAreNamed() throws {
        let host = try Host()
        defer { host.scratch.remove() }
        try configure(host, ["MOLECULE_PLATFORM_URL=http://cp.example.com", "MOLECULE_ORG_ID=org-42"], secrets: ["MOLECULE_CP_SHARED_SECRET=s3cret-shared"])
        let plainHTTP = try host.upgrade(["--auto"])
        #expect(plainHTTP.status == 1)
        #expect(plainHTTP.stderr.contains("MOLECULE_PLATFORM_URL=http://cp.example.com cannot be used") && plainHTTP.stderr.contains("https"),
                "\(plainHTTP.stderr)")
        try configure(host, ["MOLECULE_PLATFORM_URL=https://169.254.169.254", "MOLECULE_ORG_ID=org-42"], secrets: ["MOLECULE_CP_SHARED_SECRET=s3cret-shared"])
        let linkLocal = try host.upgrade(["--auto"])
        #expect(linkLocal.status == 1)
        #expect(linkLocal.stderr.contains("link-local"), "\(linkLocal.stderr)")
        try configure(host, ["MOLECULE_PLATFORM_URL=https://cp.example.com", "MOLECULE_ORG_ID=org-42"])
        let unregistered = try host.upgrade(["--auto"])
        #expect(unregistered.status == 1)
        #expect(unregistered.stderr.contains("MOLECULE_CP_SHARED_SECRET is not set"), "\(unregistered.stderr)")
        #expect(try history(host).isEmpty, "nothing is tried with settings that cannot work")
    }
}
