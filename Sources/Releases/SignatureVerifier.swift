import TenantCrypto

/// Decides whether a bundle may be installed: its detached signature (`<tarball>.sig`,
/// raw 64 bytes) must verify over the whole tarball under one of the trusted keys.
public struct SignatureVerifier: Sendable {
    public let trustedKeys: [Ed25519.PublicKey]

    public init(trustedKeys: [Ed25519.PublicKey]) {
        self.trustedKeys = trustedKeys
    }

    /// How a bundle was accepted.
    public enum Acceptance: Sendable, Equatable {
        /// Signed by the key with this fingerprint.
        case signed(keyFingerprint: String)
        /// Not signed, or not by a trusted key, and the operator said `--allow-unsigned`.
        case allowedUnsigned(reason: String)
    }

    /// Throws `ReleaseError.unsigned` / `.untrustedSignature` unless a trusted key signed
    /// `tarball`, or `allowUnsigned` (from the command line only) overrides.
    public func check(tarball: [UInt8], signature: [UInt8]?, path: String, allowUnsigned: Bool) throws -> Acceptance {
        let failure: ReleaseError
        if let signature {
            if let key = trustedKeys.first(where: { Ed25519.verify(signature, of: tarball, by: $0) }) {
                return .signed(keyFingerprint: key.fingerprint)
            }
            failure = trustedKeys.isEmpty ? .noTrustedKeys : .untrustedSignature(path: path)
        } else {
            failure = .unsigned(path: path)
        }
        guard allowUnsigned else { throw failure }
        return .allowedUnsigned(reason: failure.description)
    }

    /// Reads `path` and `path.sig` and checks them; returns the tarball bytes with the verdict.
    public func load(_ path: String, allowUnsigned: Bool) throws -> (tarball: [UInt8], acceptance: Acceptance) {
        let tarball = try FileBytes.read(path)
        let signature = FileBytes.exists(path + ".sig") ? try FileBytes.read(path + ".sig", limit: 4096) : nil
        return (tarball, try check(tarball: tarball, signature: signature, path: path, allowUnsigned: allowUnsigned))
    }
}
