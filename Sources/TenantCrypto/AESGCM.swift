import CLibCrypto

/// AES-256-GCM through OpenSSL's libcrypto, in the reference's byte layout:
/// `nonce (12) || ciphertext || tag (16)`, so rows written by either side read on the other.
public enum AESGCM {
    public static let keyLength = 32
    public static let nonceLength = 12
    public static let tagLength = 16

    public enum Failure: Error, Equatable, Sendable {
        /// The key is not 32 bytes.
        case invalidKey
        /// Too short, or the tag does not verify: a wrong key or tampered bytes.
        case authenticationFailed
    }

    /// Encrypts under `key` with a fresh random nonce.
    public static func seal(_ plaintext: [UInt8], key: [UInt8]) throws(Failure) -> [UInt8] {
        guard key.count == keyLength else { throw .invalidKey }
        let nonce = SecureRandom.bytes(nonceLength)
        guard let context = EVP_CIPHER_CTX_new() else { preconditionFailure("EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(context) }
        var output = [UInt8](repeating: 0, count: plaintext.count + 16)
        var tag = [UInt8](repeating: 0, count: tagLength)
        var written: Int32 = 0
        var final: Int32 = 0
        let ok = EVP_EncryptInit_ex(context, EVP_aes_256_gcm(), nil, key, nonce) == 1
            && output.withUnsafeMutableBufferPointer { out in
                plaintext.withUnsafeBufferPointer { input in
                    (input.isEmpty || EVP_EncryptUpdate(context, out.baseAddress, &written, input.baseAddress, Int32(input.count)) == 1)
                        && EVP_EncryptFinal_ex(context, out.baseAddress! + Int(written), &final) == 1
                }
            }
            && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_GET_TAG, Int32(tagLength), &tag) == 1
        // Encryption with a valid key only fails when OpenSSL cannot allocate.
        precondition(ok, "AES-256-GCM encryption failed")
        return nonce + output[0..<Int(written + final)] + tag
    }

    /// Decrypts and verifies what `seal` produced.
    public static func open(_ sealed: [UInt8], key: [UInt8]) throws(Failure) -> [UInt8] {
        guard key.count == keyLength else { throw .invalidKey }
        guard sealed.count >= nonceLength + tagLength else { throw .authenticationFailed }
        let nonce = Array(sealed[0..<nonceLength])
        let ciphertext = Array(sealed[nonceLength..<(sealed.count - tagLength)])
        var tag = Array(sealed[(sealed.count - tagLength)...])
        guard let context = EVP_CIPHER_CTX_new() else { preconditionFailure("EVP_CIPHER_CTX_new failed") }
        defer { EVP_CIPHER_CTX_free(context) }
        var output = [UInt8](repeating: 0, count: ciphertext.count + 16)
        var written: Int32 = 0
        var final: Int32 = 0
        let ok = EVP_DecryptInit_ex(context, EVP_aes_256_gcm(), nil, key, nonce) == 1
            && output.withUnsafeMutableBufferPointer { out in
                ciphertext.withUnsafeBufferPointer { input in
                    (input.isEmpty || EVP_DecryptUpdate(context, out.baseAddress, &written, input.baseAddress, Int32(input.count)) == 1)
                        && EVP_CIPHER_CTX_ctrl(context, EVP_CTRL_GCM_SET_TAG, Int32(tagLength), &tag) == 1
                        && EVP_DecryptFinal_ex(context, out.baseAddress! + Int(written), &final) == 1
                }
            }
        guard ok else { throw .authenticationFailed }
        return Array(output[0..<Int(written + final)])
    }
}
