import TenantCrypto

/// A fresh bearer token: 32 random bytes, base64url without padding (43 characters).
/// Only `hash` and `prefix` are stored; `plaintext` is shown to the caller once.
struct IssuedToken: Sendable {
    let plaintext: String
    var hash: [UInt8] { SHA256.hash(Array(plaintext.utf8)) }
    var prefix: String { String(plaintext.prefix(8)) }

    static func generate() -> IssuedToken {
        IssuedToken(plaintext: Base64.encodeURLSafe(SecureRandom.bytes(32)))
    }
}
