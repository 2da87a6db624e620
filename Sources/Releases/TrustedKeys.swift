import TenantCrypto

#if canImport(Glibc)
import Glibc
#endif

/// The public keys whose signatures `upgrade` accepts: the ones compiled in plus every
/// `*.pem` in `/etc/molecule-tenant/trusted-keys/` (how a test, a fork or a key rotation
/// adds one without rebuilding).
public enum TrustedKeys {
    /// Release signing keys compiled into the binary (PEM, SubjectPublicKeyInfo). Add the
    /// project's release public key here; its private half lives only with the release job.
    static let builtIn: [String] = []

    public static var compiledIn: [Ed25519.PublicKey] { keys(fromPEMs: builtIn) }

    static func keys(fromPEMs pems: [String]) -> [Ed25519.PublicKey] { pems.compactMap(Ed25519.PublicKey.init(pem:)) }

    /// The compiled-in keys plus those in `directory`; a file there that is not a key is
    /// an error rather than silently skipped, so a typo never looks like "no key".
    /// - Parameter compiled: the compiled-in PEMs (tests pass their own).
    public static func load(directory: String, compiled: [String]? = nil) throws -> [Ed25519.PublicKey] {
        var keys = keys(fromPEMs: compiled ?? builtIn)
        for name in try pemFiles(in: directory) {
            let path = directory + "/" + name
            let text = String(decoding: try FileBytes.read(path, limit: 64 * 1024), as: UTF8.self)
            guard let key = Ed25519.PublicKey(pem: text) else { throw ReleaseError.badTrustedKey(path: path) }
            if !keys.contains(key) { keys.append(key) }
        }
        return keys
    }

    private static func pemFiles(in directory: String) throws -> [String] {
        guard let handle = opendir(directory) else {
            if errno == ENOENT { return [] }
            throw ReleaseError.unreadable(path: directory, reason: errnoText())
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name.hasSuffix(".pem") && !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }
}
