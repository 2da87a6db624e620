import TenantCrypto
import Timestamps

#if canImport(Glibc)
import Glibc
#endif

/// `release bundle`: copies a built binary, stamps the version into the copy, proves the
/// copy runs and reports that version (when it is for this machine's architecture), then
/// writes the signed bundle.
public enum ReleaseBundler {
    public struct Request: Sendable {
        public var binaryPath: String
        public var keyPath: String
        public var outDirectory: String
        public var version: String?
        public var minUpgradeFrom: String?
        public var requiredConfig: [String]

        public init(binaryPath: String, keyPath: String, outDirectory: String, version: String? = nil,
                    minUpgradeFrom: String? = nil, requiredConfig: [String] = []) {
            self.binaryPath = binaryPath
            self.keyPath = keyPath
            self.outDirectory = outDirectory
            self.version = version
            self.minUpgradeFrom = minUpgradeFrom
            self.requiredConfig = requiredConfig
        }
    }

    public struct Result: Sendable {
        public let tarballPath: String
        public let manifest: ReleaseManifest
        public let architecture: String
        public let keyFingerprint: String
    }

    public static func make(_ request: Request) throws -> Result {
        let keyText = String(decoding: try FileBytes.read(request.keyPath, limit: 64 * 1024), as: UTF8.self)
        guard let key = Ed25519.PrivateKey(pem: keyText) else { throw ReleaseError.badKey(path: request.keyPath) }
        var binary = try FileBytes.read(request.binaryPath)
        guard let architecture = ReleaseArchitecture.of(binary) else {
            throw ReleaseError.badBundle("\(request.binaryPath) is not a 64-bit Linux binary for amd64 or arm64")
        }
        if let minimum = request.minUpgradeFrom, ReleaseVersion(minimum) == nil { throw ReleaseError.invalidVersion(minimum) }
        if let version = request.version {
            guard ReleaseVersion(version) != nil else { throw ReleaseError.invalidVersion(version) }
            try VersionStamp.stamp(&binary, version: version)
        }
        let version = try VersionStamp.read(binary)
        let commit = architecture == ReleaseArchitecture.host
            ? try selfReport(binary, expecting: version, in: request.outDirectory)
            : "unknown"
        let manifest = ReleaseManifest(
            version: version, commit: commit, builtAt: Timestamp.now().rfc3339, sha256: Hex.encode(SHA256.hash(binary)),
            minUpgradeFrom: request.minUpgradeFrom, requiredConfig: request.requiredConfig)
        let path = try BundleWriter.write(BundleContents(manifest: manifest, binary: binary), architecture: architecture,
                                          key: key, into: request.outDirectory)
        return Result(tarballPath: path, manifest: manifest, architecture: architecture, keyFingerprint: key.publicKey.fingerprint)
    }

    /// Runs the stamped copy's `--version` and returns the commit it reports; throws unless
    /// it runs and reports `version` (a stamp the accessor cannot see would be caught here).
    static func selfReport(_ binary: [UInt8], expecting version: String, in directory: String) throws -> String {
        let path = directory + "/.molecule-tenant-stamped-\(getpid())"
        try FileBytes.write(binary, to: path, mode: 0o755)
        defer { unlink(path) }
        let outcome = try ChildCommand.run([path, "--version"])
        let line = outcome.output.split(separator: "\n").first.map(String.init) ?? ""
        guard outcome.status == 0, let report = VersionReport(line), report.version == version else {
            throw ReleaseError.badBundle("the stamped binary does not report version \(version) (it said: \(line.isEmpty ? "nothing" : line))")
        }
        return report.commit
    }
}

/// The `--version` line: "molecule-tenant V (commit C, built D)".
public struct VersionReport: Sendable, Equatable {
    public let version: String
    public let commit: String

    public init?(_ line: String) {
        let words = line.split(separator: " ")
        guard words.count >= 4, words[0] == "molecule-tenant", words[2] == "(commit" else { return nil }
        version = String(words[1])
        commit = String(words[3].trimmingSuffix(","))
    }
}

extension Substring {
    fileprivate func trimmingSuffix(_ suffix: Character) -> Substring { last == suffix ? dropLast() : self }
}
