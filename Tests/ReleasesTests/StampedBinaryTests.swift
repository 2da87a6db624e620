import Foundation
import Releases
import TenantCrypto
import Testing
import TestSupport

/// `release bundle` run on the real built binary, the way the release job runs it.
@Suite struct StampedBinaryTests {
    @Test func aStampedCopyReportsItsVersionFromTheCommandLineAndBuildinfo() async throws {
        let scratch = try ReleaseScratch()
        defer { scratch.remove() }
        let key = try scratch.makeKey("release")
        let original = try readBytes(MoleculeTenantBinary.path)
        let made = try MoleculeTenantBinary.run([
            "release", "bundle", "--binary", MoleculeTenantBinary.path, "--key", key.privatePath,
            "--out", scratch.directory + "/dist", "--version", "7.8.9-test.1", "--require-config", "NEW_SECRET", "--json",
        ])
        #expect(made.status == 0, "\(made.stderr)")
        // The build itself is untouched: only the copy in the bundle was stamped.
        #expect(try readBytes(MoleculeTenantBinary.path) == original)

        let path = scratch.directory + "/dist/molecule-tenant-7.8.9-test.1-linux-\(ReleaseArchitecture.host).tar.gz"
        let verifier = SignatureVerifier(trustedKeys: [try scratch.publicKey(key.publicPath)])
        let contents = try BundleReader.read(try verifier.load(path, allowUnsigned: false).tarball)
        #expect(contents.manifest.version == "7.8.9-test.1")
        #expect(contents.manifest.requiredConfig == ["NEW_SECRET"])
        #expect(contents.manifest.sha256 == Hex.encode(SHA256.hash(contents.binary)))

        let stamped = scratch.directory + "/molecule-tenant"
        // Close-on-exec and renamed into place: a child another test forks meanwhile must not
        // inherit a write descriptor, or exec fails with "Text file busy".
        try FileBytes.write(contents.binary, to: stamped, mode: 0o755)
        let version = try ChildProcess.run([stamped, "--version"])
        #expect(version.stdout.hasPrefix("molecule-tenant 7.8.9-test.1 (commit "), "\(version.stdout)")
        #expect(VersionReport(version.stdout.trimmingCharacters(in: .newlines))?.commit == contents.manifest.commit)

        let database = try await TestPostgres.createDatabase("stamp")
        defer { database.drop() }
        let port = freeTCPPort()
        let server = try ChildProcess([stamped, "server", "--config", "/dev/null"], environment: ProcessInfo.processInfo.environment.merging([
            "DATABASE_URL": database.url, "PORT": "\(port)", "BIND_ADDR": "127.0.0.1", "LOG_FORMAT": "json",
            "MEMORY_PLUGIN_URL": "http://127.0.0.1:\(freeTCPPort())", "MEMORY_PLUGIN_REQUIRED": "0", "MEMORY_PLUGIN_BOOT_WAIT": "0s",
        ]) { _, new in new })
        defer {
            server.signal(SIGKILL)
            _ = server.wait()
        }
        var reported: String?
        for _ in 0..<300 where reported == nil && !server.hasExited {
            if let response = try? TestHTTP.request("GET", port: port, path: "/buildinfo", timeout: .seconds(2)), response.status == 200 {
                reported = (try JSONSerialization.jsonObject(with: response.body) as? [String: Any])?["version"] as? String
            } else {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        #expect(reported == "7.8.9-test.1")
    }

    @Test func bundlingABinaryWithoutTheMarkerIsRefused() throws {
        let scratch = try ReleaseScratch()
        defer { scratch.remove() }
        let key = try scratch.makeKey("release")
        let outcome = try MoleculeTenantBinary.run([
            "release", "bundle", "--binary", "/bin/true", "--key", key.privatePath, "--out", scratch.directory, "--version", "1.0.0",
        ])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("holds the version marker 0 times"), "\(outcome.stderr)")
    }
}
