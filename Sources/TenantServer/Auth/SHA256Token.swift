import TenantCrypto

/// How presented tokens are looked up: by the sha256 of their UTF-8 bytes.
enum SHA256Token {
    static func hash(_ token: String) -> [UInt8] { SHA256.hash(Array(token.utf8)) }
}
