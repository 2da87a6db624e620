import Foundation
import Releases
import TenantCrypto
import Testing
import TestSupport

@Suite struct BundleTests {
    @Test func aSignedBundleVerifiesAndReadsBackUnchanged() throws {
        let scratch = try ReleaseScratch()
        defer { scratch.remove() }
        let key = try scratch.makeKey("release")
        var binary = fakeBinary()
        try VersionStamp.stamp(&binary, version: "1.2.3")
        let manifest = ReleaseManifest(version: "1.2.3", commit: "abc", builtAt: "2026-01-01T00:00:00Z",
                                       sha256: Hex.encode(SHA256.hash(binary)), minUpgradeFrom: "1.0.0", requiredConfig: ["NEW_SECRET"])
        let path = try BundleWriter.write(BundleContents(manifest: manifest, binary: binary), architecture: "amd64",
                                          key: try scratch.privateKey(key.privatePath), into: scratch.directory)
        #expect(path.hasSuffix("/molecule-tenant-1.2.3-linux-amd64.tar.gz"))

        let verifier = SignatureVerifier(trustedKeys: [try scratch.publicKey(key.publicPath)])
        let (tarball, acceptance) = try verifier.load(path, allowUnsigned: false)
        #expect(acceptance == .signed(keyFingerprint: try scratch.publicKey(key.publicPath).fingerprint))
        let contents = try BundleReader.read(tarball)
        #expect(contents.manifest == manifest)
        #expect(contents.binary == binary)
        #expect(try VersionStamp.read(contents.binary) == "1.2.3")
    }

    @Test func theOpenSSLToolAcceptsOurSignatureAsTheInstallerWillCheckIt() throws {
        let scratch = try ReleaseScratch()
        defer { scratch.remove() }
        let key = try scratch.makeKey("release")
        let path = try writeBundle(scratch, key: key.privatePath)
        let verified = try ChildProcess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", key.publicPath,
                                             "-rawin", "-in", path, "-sigfile", path + ".sig"])
        #expect(verified.status == 0, "\(verified.stdout) \(verified.stderr)")
    }

    @Test func aTamperedTarballIsRefused() throws {
        let scratch = try ReleaseScratch()
        defer { scratch.remove() }
        let key = try scratch.makeKey("release")
        let path = try writeBundle(scratch, key: key.privatePath)
        var tarball = try readBytes(path)
        tarball[tarball.count / 2] ^= 0x01
        try Data(tarball).write(to: URL(fileURLWithPath: path))
        let verifier = SignatureVerifier(trustedKeys: [try scratch.publicKey(key.publicPath)])
        #expect(throws: ReleaseError.untrustedSignature(path: path)) { try verifier.load(path, allowUnsigned: false) }
    }

    @Test func aBundleSignedByAnUnknownKeyIsRefused() throws {
        let scratch = try ReleaseScratch()
        defer { scratch.remove() }
        let signer = try scratch.makeKey("stranger")
        let trusted = try scratch.makeKey("release")
        let path = try writeBundle(scratch, key: signer.privatePath)
        let verifier = SignatureVerifier(trustedKeys: [try scratch.publicKey(trusted.publicPath)])
        #expect(throws: ReleaseError.untrustedSignature(path: path)) { try verifier.load(path, allowUnsigned: false) }
        // Only the command line's --allow-unsigned lets it through, and it says why.
        let (_, acceptance) = try verifier.load(path, allowUnsigned: true)
        guard case .allowedUnsigned(let reason) = acceptance else {
            Issue.record("expected allowedUnsigned, got \(acceptance)")
            return
        }
        #expect(reason.contains("not a valid signature"))
    }

    @Test func anUnsignedBundleIsRefused() throws {
        let scratch = try ReleaseScratch()
        defer { scratch.remove() }
        let key = try scratch.makeKey("release")
        let path = try writeBundle(scratch, key: key.privatePath)
        try FileManager.default.removeItem(atPath: path + ".sig")
        let verifier = SignatureVerifier(trustedKeys: [try scratch.publicKey(key.publicPath)])
        #expect(throws: ReleaseError.unsigned(path: path)) { try verifier.load(path, allowUnsigned: false) }
    }

    @Test func aBinaryThatDoesNotMatchItsManifestIsRefused() throws {
        let scratch = try ReleaseScratch()
        defer { scratch.remove() }
        let key = try scratch.makeKey("release")
        let binary = fakeBinary()
        let manifest = ReleaseManifest(version: "1.0.0", commit: "abc", builtAt: "", sha256: String(repeating: "0", count: 64))
        let tarball = try BundleWriter.archive(BundleContents(manifest: manifest, binary: binary), modified: 0)
        _ = key
        #expect(throws: ReleaseError.checksumMismatch(expected: manifest.sha256, actual: Hex.encode(SHA256.hash(binary)))) {
            try BundleReader.read(tarball)
        }
    }

    @Test func trustedKeysComeFromTheDirectoryAndABadFileThereIsAnError() throws {
        let scratch = try ReleaseScratch()
        defer { scratch.remove() }
        let key = try scratch.makeKey("release")
        let directory = scratch.directory + "/trusted-keys"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        #expect(try TrustedKeys.load(directory: directory) == TrustedKeys.compiledIn)
        try FileManager.default.copyItem(atPath: key.publicPath, toPath: directory + "/release.pem")
        #expect(try TrustedKeys.load(directory: directory).contains(try scratch.publicKey(key.publicPath)))
        try "not a key".write(toFile: directory + "/typo.pem", atomically: true, encoding: .utf8)
        #expect(throws: ReleaseError.badTrustedKey(path: directory + "/typo.pem")) { try TrustedKeys.load(directory: directory) }
    }

    /// A key compiled into the binary vouches for a bundle with nothing in trusted-keys/
    /// (the project's release key goes into `TrustedKeys.builtIn`; this passes a test key).
    @Test func aCompiledInKeyVerifiesABundleWithAnEmptyTrustedKeysDirectory() throws {
        let scratch = try ReleaseScratch()
        defer { scratch.remove() }
        let key = try scratch.makeKey("project")
        let directory = scratch.directory + "/trusted-keys"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let pem = try String(contentsOfFile: key.publicPath, encoding: .utf8)
        let keys = try TrustedKeys.load(directory: directory, compiled: [pem])
        #expect(keys == [try scratch.publicKey(key.publicPath)])
        let path = try writeBundle(scratch, key: key.privatePath)
        let (_, acceptance) = try SignatureVerifier(trustedKeys: keys).load(path, allowUnsigned: false)
        #expect(acceptance == .signed(keyFingerprint: try scratch.publicKey(key.publicPath).fingerprint))
        let other = try scratch.makeKey("other")
        #expect(throws: ReleaseError.untrustedSignature(path: try writeBundle(scratch, key: other.privatePath))) {
            try SignatureVerifier(trustedKeys: keys).load(scratch.directory + "/molecule-tenant-1.0.0-linux-amd64.tar.gz", allowUnsigned: false)
        }
    }

    private func writeBundle(_ scratch: ReleaseScratch, key: String) throws -> String {
        let binary = fakeBinary()
        let manifest = ReleaseManifest(version: "1.0.0", commit: "abc", builtAt: "", sha256: Hex.encode(SHA256.hash(binary)))
        return try BundleWriter.write(BundleContents(manifest: manifest, binary: binary), architecture: "amd64",
                                      key: try scratch.privateKey(key), into: scratch.directory)
    }
}
