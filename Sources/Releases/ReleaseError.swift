/// Why a release could not be made, read or trusted; each message says what to do.
public enum ReleaseError: Error, CustomStringConvertible, Equatable {
    case invalidVersion(String)
    case markerCount(Int)
    case markerSlotDamaged
    case unreadable(path: String, reason: String)
    case unwritable(path: String, reason: String)
    case badKey(path: String)
    case badTrustedKey(path: String)
    case archive(String)
    case badBundle(String)
    case checksumMismatch(expected: String, actual: String)
    case unsigned(path: String)
    case untrustedSignature(path: String)
    case noTrustedKeys

    public var description: String {
        switch self {
        case .invalidVersion(let version):
            "version \"\(version)\" is not valid: use digits, letters, '.', '-' or '+' (at most \(VersionStamp.maximumLength) characters), e.g. 1.2.0"
        case .markerCount(let count):
            "the binary holds the version marker \(count) times, not exactly once: it is not a molecule-tenant build this tool can stamp"
        case .markerSlotDamaged:
            "the version marker's slot is not NUL-padded as built: refusing to stamp a binary that was altered"
        case .unreadable(let path, let reason):
            "cannot read \(path): \(reason)"
        case .unwritable(let path, let reason):
            "cannot write \(path): \(reason)"
        case .badKey(let path):
            "\(path) is not an Ed25519 private key in PEM (make one with: openssl genpkey -algorithm ed25519 -out \(path))"
        case .badTrustedKey(let path):
            "trusted key \(path) is not an Ed25519 public key in PEM (openssl pkey -in KEY -pubout writes one)"
        case .archive(let reason):
            "archive error: \(reason)"
        case .badBundle(let reason):
            "not a valid release bundle: \(reason)"
        case .checksumMismatch(let expected, let actual):
            "the bundled binary's sha256 is \(actual), but its manifest says \(expected): the bundle is damaged"
        case .unsigned(let path):
            "\(path) has no signature file (\(path).sig): refusing an unsigned bundle (--allow-unsigned overrides)"
        case .untrustedSignature(let path):
            "\(path).sig is not a valid signature by any trusted key: refusing the bundle (--allow-unsigned overrides)"
        case .noTrustedKeys:
            "no trusted release keys: add the release public key (PEM) to /etc/molecule-tenant/trusted-keys/"
        }
    }
}
