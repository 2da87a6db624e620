import CLibCrypto

/// Ed25519 signatures through OpenSSL's libcrypto. OpenSSL 3.0 cannot stream Ed25519,
/// so both sides are one-shot over the whole message in memory; the signatures are the
/// raw 64 bytes that `openssl pkeyutl -sign -rawin` writes, so either tool checks the other's.
public enum Ed25519 {
    /// A public key: the raw 32 bytes, read from PEM (SubjectPublicKeyInfo) or raw.
    public struct PublicKey: Sendable, Hashable {
        public let raw: [UInt8]

        public init?(raw: [UInt8]) {
            guard raw.count == 32 else { return nil }
            self.raw = raw
        }

        /// `-----BEGIN PUBLIC KEY-----` text, as `openssl pkey -pubout` writes it.
        public init?(pem: String) {
            guard let key = withPEM(pem, { PEM_read_bio_PUBKEY($0, nil, nil, nil) }) else { return nil }
            defer { EVP_PKEY_free(key) }
            guard let raw = rawPublicKey(key) else { return nil }
            self.raw = raw
        }

        /// Short hex fingerprint for messages (sha256 of the raw key, first 8 bytes).
        public var fingerprint: String { Hex.encode(SHA256.hash(raw).prefix(8)) }
    }

    /// A private key read from PEM (`openssl genpkey -algorithm ed25519`).
    public final class PrivateKey: @unchecked Sendable {
        // Owned EVP_PKEY; immutable after init, so sharing it is safe.
        private let key: OpaquePointer

        public init?(pem: String) {
            guard let key = withPEM(pem, { PEM_read_bio_PrivateKey($0, nil, nil, nil) }) else { return nil }
            guard EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 else {
                EVP_PKEY_free(key)
                return nil
            }
            self.key = key
        }

        deinit { EVP_PKEY_free(key) }

        public var publicKey: PublicKey {
            // An Ed25519 private key always yields its 32-byte public half.
            PublicKey(raw: rawPublicKey(key)!)!
        }

        /// The 64-byte signature of `message`.
        public func sign(_ message: [UInt8]) -> [UInt8] {
            guard let context = EVP_MD_CTX_new() else { preconditionFailure("EVP_MD_CTX_new failed") }
            defer { EVP_MD_CTX_free(context) }
            var signature = [UInt8](repeating: 0, count: 64)
            var length = 64
            let ok = EVP_DigestSignInit(context, nil, nil, nil, key) == 1
                && message.withUnsafeBufferPointer { input in
                    EVP_DigestSign(context, &signature, &length, input.baseAddress, input.count) == 1
                }
            // Signing with a valid key only fails on allocation failure.
            precondition(ok && length == 64, "Ed25519 signing failed")
            return signature
        }
    }

    /// True when `signature` is `key`'s signature of `message`.
    public static func verify(_ signature: [UInt8], of message: [UInt8], by key: PublicKey) -> Bool {
        guard signature.count == 64 else { return false }
        guard let pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, key.raw, key.raw.count) else { return false }
        defer { EVP_PKEY_free(pkey) }
        guard let context = EVP_MD_CTX_new() else { return false }
        defer { EVP_MD_CTX_free(context) }
        guard EVP_DigestVerifyInit(context, nil, nil, nil, pkey) == 1 else { return false }
        let ok = message.withUnsafeBufferPointer { input in
            EVP_DigestVerify(context, signature, signature.count, input.baseAddress, input.count) == 1
        }
        // A failed verification leaves an entry on OpenSSL's thread error queue.
        ERR_clear_error()
        return ok
    }
}

private func withPEM(_ pem: String, _ read: (OpaquePointer?) -> OpaquePointer?) -> OpaquePointer? {
    let bytes = Array(pem.utf8)
    return bytes.withUnsafeBufferPointer { buffer -> OpaquePointer? in
        guard let bio = BIO_new_mem_buf(buffer.baseAddress, Int32(buffer.count)) else { return nil }
        defer { BIO_free(bio) }
        let key = read(bio)
        ERR_clear_error()
        return key
    }
}

private func rawPublicKey(_ key: OpaquePointer) -> [UInt8]? {
    guard EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 else { return nil }
    var raw = [UInt8](repeating: 0, count: 32)
    var length = 32
    guard EVP_PKEY_get_raw_public_key(key, &raw, &length) == 1, length == 32 else { return nil }
    return raw
}
