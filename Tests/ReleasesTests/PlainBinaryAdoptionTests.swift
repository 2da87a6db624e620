import Foundation
import Releases
import Testing
import TestSupport
import Upgrades

/// `install` puts a plain binary at /usr/local/bin/molecule-tenant; the first upgrade keeps it
/// as a release (so it can roll back to it) and makes the path the symlink upgrades move.
@Suite(.serialized) struct PlainBinaryAdoptionTests {
    func plainHost() throws -> (ReleaseScratch, HostLayout) {
        let scratch = try ReleaseScratch()
        let layout = HostLayout(root: scratch.directory + "/root")
        try FileManager.default.createDirectory(atPath: layout.root + "/usr/local/bin", withIntermediateDirectories: true)
        try FileBytes.write(try FileBytes.read(MoleculeTenantBinary.path), to: layout.binaryLink, mode: 0o755)
        return (scratch, layout)
    }

    func builtVersion() throws -> String {
        let outcome = try MoleculeTenantBinary.run(["--version"])
        return try #require(VersionReport(outcome.stdout.trimmingCharacters(in: .whitespacesAndNewlines))).version
    }

    @Test func aPlainBinaryBecomesTheFirstReleaseAndThePathItsSymlink() throws {
        let (scratch, layout) = try plainHost()
        defer { scratch.remove() }
        let releases = InstalledReleases(layout: layout)
        let version = try builtVersion()
        #expect(releases.current() == nil, "a plain file names no release")
        #expect(releases.installedVersion() == version)

        #expect(try releases.adoptPlainBinary() == version)
        #expect(releases.current() == version)
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: layout.binaryLink) == layout.releaseBinary(version))
        #expect(try FileBytes.read(layout.releaseBinary(version)) == FileBytes.read(MoleculeTenantBinary.path))
        #expect(try releases.adoptPlainBinary() == nil, "a symlink is left alone")
    }

    @Test func checkOnAPlainInstallComparesItsVersionAndChangesNothing() throws {
        let (scratch, layout) = try plainHost()
        defer { scratch.remove() }
        try FileManager.default.createDirectory(atPath: scratch.directory + "/dist/channels", withIntermediateDirectories: true)
        try #"{"version": "999.0.0", "url": "unused.tar.gz"}"#.write(toFile: scratch.directory + "/dist/channels/stable.json", atomically: true, encoding: .utf8)
        let check = try MoleculeTenantBinary.run(["upgrade", "--check", "--json", "--config", "/dev/null"], environment: [
            "MOLECULE_TENANT_ROOT": layout.root, "MOLECULE_RELEASE_URL": "file://\(scratch.directory)/dist",
        ])
        #expect(check.status == 2, "\(check.stderr)")
        #expect(check.stdout.contains(#""current":"\#(try builtVersion())""#), "\(check.stdout)")
        #expect((try? FileManager.default.destinationOfSymbolicLink(atPath: layout.binaryLink)) == nil, "--check must not adopt")
    }
}
