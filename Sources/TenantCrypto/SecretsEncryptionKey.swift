/// `SECRETS_ENCRYPTION_KEY`: 32 bytes written as 64 hex digits, as base64 (either
/// alphabet), or, as the reference also accepts, 32 raw characters.
public struct SecretsEncryptionKey: Sendable {
    public let bytes: [UInt8]

    /// nil when the text is none of the accepted forms; the caller names the variable.
    public init?(_ text: String) {
        let trimmed = String(text.filter { !$0.isWhitespace })
        if trimmed.utf8.count == 64, let decoded = Hex.decode(trimmed) {
            bytes = decoded
        } else if let decoded = Base64.decode(trimmed), decoded.count == AESGCM.keyLength {
            bytes = decoded
        } else if text.utf8.count == AESGCM.keyLength {
            bytes = Array(text.utf8)
        } else {
            return nil
        }
    }

    public static let expectedForm = "32 bytes as 64 hex digits or base64 (openssl rand -base64 32)"

    /// A short, non-reversible fingerprint for logs (never the key itself).
    public var fingerprint: String { String(Hex.encode(SHA256.hash(bytes)).prefix(8)) }
}
