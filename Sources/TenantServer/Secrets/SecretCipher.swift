import HTTPTypes
import TenantCrypto

/// Encrypts and decrypts secret values under `SECRETS_ENCRYPTION_KEY`. Without a key
/// the server still runs; only the routes that need one answer 503 naming the variable.
struct SecretCipher: Sendable {
    let key: SecretsEncryptionKey?

    /// How a stored value was written (the reference's `encryption_version`).
    enum Version {
        static let plaintext = 0
        static let aesGCM = 1
    }

    static let missingKey = APIError(.serviceUnavailable, code: "secrets_key_missing", """
        SECRETS_ENCRYPTION_KEY is not set: put \(SecretsEncryptionKey.expectedForm) in \
        /etc/molecule-tenant/secrets.env (or the environment) and restart the server to use secrets
        """)

    func seal(_ value: String) throws -> (bytes: [UInt8], version: Int) {
        guard let key else { throw Self.missingKey }
        return (try AESGCM.seal(Array(value.utf8), key: key.bytes), Version.aesGCM)
    }

    /// Plaintext rows (the reference without a key) read as they are; encrypted rows
    /// need the key that wrote them.
    func open(_ bytes: [UInt8], version: Int) throws -> String {
        switch version {
        case Version.plaintext:
            return String(decoding: bytes, as: UTF8.self)
        case Version.aesGCM:
            guard let key else { throw Self.missingKey }
            return String(decoding: try AESGCM.open(bytes, key: key.bytes), as: UTF8.self)
        default:
            throw SecretDecryptionError(version: version)
        }
    }
}

struct SecretDecryptionError: Error {
    let version: Int
}
