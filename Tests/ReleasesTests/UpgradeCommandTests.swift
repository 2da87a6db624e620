import Foundation
import Releases
import Testing
import TestSupport

/// `upgrade` as a child process against a host laid out under a root prefix
/// (MOLECULE_TENANT_ROOT): the refusals that must happen before anything changes.
/// The handover itself runs on the release build in Tests/release/upgrade.sh.
@Suite(.serialized) struct UpgradeCommandTests {
    /// A host running 1.0.0 (the symlink names it), and a signed 1.0.1 bundle that requires NEW_SECRET.
    struct Host {
        let scratch: ReleaseScratch
        let root: String
        let bundle: String
        let key: (privatePath: String, publicPath: String)

        init(trustSigner: Bool = true) throws {
            scratch = try ReleaseScratch()
            root = scratch.directory + "/root"
            key = try scratch.makeKey("release")
            let manager = FileManager.default
            for directory in ["/opt/molecule-tenant/releases/1.0.0", "/usr/local/bin", "/etc/molecule-tenant/trusted-keys", "/var/lib/molecule-tenant"] {
                try manager.createDirectory(atPath: root + directory, withIntermediateDirectories: true)
            }
            try manager.copyItem(atPath: MoleculeTenantBinary.path, toPath: root + "/opt/molecule-tenant/releases/1.0.0/molecule-tenant")
            try manager.createSymbolicLink(atPath: root + "/usr/local/bin/molecule-tenant",
                                           withDestinationPath: root + "/opt/molecule-tenant/releases/1.0.0/molecule-tenant")
            try "PORT=1\n".write(toFile: root + "/etc/molecule-tenant/tenant.env", atomically: true, encoding: .utf8)
            let trusted = trustSigner ? key.publicPath : try scratch.makeKey("other").publicPath
            try manager.copyItem(atPath: trusted, toPath: root + "/etc/molecule-tenant/trusted-keys/release.pem")
            let made = try MoleculeTenantBinary.run([
                "release", "bundle", "--binary", MoleculeTenantBinary.path, "--key", key.privatePath, "--out", scratch.directory + "/dist",
                "--version", "1.0.1", "--require-config", "NEW_SECRET", "--quiet",
            ])
            guard made.status == 0 else { throw TestSupportError("release bundle: \(made.stderr)") }
            bundle = scratch.directory + "/dist/molecule-tenant-1.0.1-linux-\(ReleaseArchitecture.host).tar.gz"
        }

        func upgrade(_ arguments: [String], releaseURL: String? = nil) throws -> ChildProcess.Outcome {
            var environment = ["MOLECULE_TENANT_ROOT": root, "LOG_FORMAT": "json"]
            if let releaseURL { environment["MOLECULE_RELEASE_URL"] = releaseURL }
            return try MoleculeTenantBinary.run(["upgrade", "--config", "/dev/null"] + arguments, environment: environment)
        }

        var currentTarget: String { (try? FileManager.default.destinationOfSymbolicLink(atPath: root + "/usr/local/bin/molecule-tenant")) ?? "" }

        func publishChannel(version: String, channel: String = "stable") throws {
            try FileManager.default.createDirectory(atPath: scratch.directory + "/dist/channels", withIntermediateDirectories: true)
            let name = "molecule-tenant-\(version)-linux-\(ReleaseArchitecture.host).tar.gz"
            try #"{"version":"\#(version)","url":"\#(name)"}"#.write(toFile: scratch.directory + "/dist/channels/\(channel).json", atomically: true, encoding: .utf8)
        }
    }

    @Test func checkExitsTwoWhenTheChannelHasANewerReleaseAndZeroWhenCurrent() throws {
        let host = try Host()
        defer { host.scratch.remove() }
        try host.publishChannel(version: "1.0.1")
        let newer = try host.upgrade(["--check", "--json"], releaseURL: "file://\(host.scratch.directory)/dist")
        #expect(newer.status == 2, "\(newer.stderr)")
        #expect(newer.stdout.contains(#""available":"1.0.1""#) && newer.stdout.contains(#""current":"1.0.0""#), "\(newer.stdout)")
        try host.publishChannel(version: "1.0.0")
        let current = try host.upgrade(["--check"], releaseURL: "file://\(host.scratch.directory)/dist")
        #expect(current.status == 0, "\(current.stderr)")
        #expect(current.stdout.contains("up to date"))

        // Another channel is read only when asked for.
        try host.publishChannel(version: "1.0.1", channel: "beta")
        let beta = try host.upgrade(["--check", "--channel", "beta", "--json"], releaseURL: "file://\(host.scratch.directory)/dist")
        #expect(beta.status == 2, "\(beta.stderr)")
        #expect(beta.stdout.contains(#""available":"1.0.1""#), "\(beta.stdout)")
        #expect(try host.upgrade(["--check"], releaseURL: "file://\(host.scratch.directory)/dist").status == 0)

        // --check only compares: a target to move to is a usage error (exit 2, like every
        // usage error), said in one line, and nothing is looked up or changed.
        let contradictory = try host.upgrade(["--check", "--to", "1.0.1"], releaseURL: "file://\(host.scratch.directory)/dist")
        #expect(contradictory.status == 2, "\(contradictory.stdout)")
        #expect(!contradictory.stdout.contains("available"), "\(contradictory.stdout)")
        #expect(contradictory.stderr.contains("--check") && contradictory.stderr.contains("--to"), "\(contradictory.stderr)")
        #expect(host.currentTarget.hasSuffix("/1.0.0/molecule-tenant"))
    }

    @Test func aReleaseNeedingConfigTheHostLacksIsRefusedNamingItAndConfigSync() throws {
        let host = try Host()
        defer { host.scratch.remove() }
        let before = host.currentTarget
        let refused = try host.upgrade(["--bundle", host.bundle])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("NEW_SECRET") && refused.stderr.contains("molecule-tenant config sync"), "\(refused.stderr)")
        #expect(host.currentTarget == before)
        let ledger = try String(contentsOfFile: host.root + "/var/lib/molecule-tenant/upgrades.json", encoding: .utf8)
        #expect(ledger.contains(#""outcome" : "refused""#), "\(ledger)")
        #expect(ledger.contains(#""to" : "1.0.1""#), "the refusal names the bundle's version: \(ledger)")
    }

    @Test func aTamperedBundleIsRefusedBeforeAnythingChanges() throws {
        let host = try Host()
        defer { host.scratch.remove() }
        var bytes = try readBytes(host.bundle)
        bytes[bytes.count / 3] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: host.bundle))
        let refused = try host.upgrade(["--bundle", host.bundle])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("not a valid signature by any trusted key"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: host.root + "/opt/molecule-tenant/releases/1.0.1"))
        #expect(host.currentTarget.hasSuffix("/1.0.0/molecule-tenant"))
    }

    @Test func aBundleSignedByAnUnknownKeyIsRefusedBeforeAnythingChanges() throws {
        let host = try Host(trustSigner: false)
        defer { host.scratch.remove() }
        let refused = try host.upgrade(["--bundle", host.bundle])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("not a valid signature by any trusted key"), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: host.root + "/opt/molecule-tenant/releases/1.0.1"))
        #expect(host.currentTarget.hasSuffix("/1.0.0/molecule-tenant"))
    }

    @Test func servicesThatCannotHandOverAreRefusedBeforeAnythingChangesAndTheReleaseIsNotRejected() throws {
        let host = try Host()
        defer { host.scratch.remove() }
        try "NEW_SECRET=present\n".write(toFile: host.root + "/etc/molecule-tenant/secrets.env", atomically: true, encoding: .utf8)
        let refused = try host.upgrade(["--bundle", host.bundle])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("the memory-plugin is not running") && refused.stderr.contains("the server is not running"), "\(refused.stderr)")
        #expect(refused.stderr.contains("nothing was changed"))
        #expect(host.currentTarget.hasSuffix("/1.0.0/molecule-tenant"))
        let ledger = try String(contentsOfFile: host.root + "/var/lib/molecule-tenant/upgrades.json", encoding: .utf8)
        #expect(ledger.contains(#""outcome" : "refused""#), "\(ledger)")
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(ledger.utf8)) as? [String: Any])
        #expect((parsed["rejected"] as? [String])?.isEmpty == true, "a host problem does not reject the release: \(ledger)")
    }
}
