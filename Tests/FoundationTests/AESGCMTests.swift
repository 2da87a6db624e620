import TenantCrypto
import Testing

@Suite("AES-256-GCM")
struct AESGCMTests {
    @Test func opensTheNISTTestVectorInTheReferenceLayout() throws {
        // NIST GCM test case 14: zero key, zero nonce, 16 zero bytes; stored as nonce || ciphertext || tag.
        let sealed = [UInt8](repeating: 0, count: 12) + Hex.decode("cea7403d4d606b6e074ec5d3baf39d18")!
            + Hex.decode("d0d1c8a799996bf0265b98b5d48ab919")!
        #expect(try AESGCM.open(sealed, key: [UInt8](repeating: 0, count: 32)) == [UInt8](repeating: 0, count: 16))
    }

    @Test func sealedValuesOpenOnlyWithTheirKeyAndUntampered() throws {
        let key = SecureRandom.bytes(32)
        for plaintext in [[], Array("sk-live-123".utf8), SecureRandom.bytes(5000)] {
            let sealed = try AESGCM.seal(plaintext, key: key)
            #expect(sealed.count == 12 + plaintext.count + 16)
            #expect(try AESGCM.open(sealed, key: key) == plaintext)
            #expect(throws: AESGCM.Failure.authenticationFailed) { try AESGCM.open(sealed, key: SecureRandom.bytes(32)) }
            var tampered = sealed
            tampered[tampered.count - 1] ^= 1
            #expect(throws: AESGCM.Failure.authenticationFailed) { try AESGCM.open(tampered, key: key) }
        }
        #expect(try AESGCM.seal([1], key: key) != AESGCM.seal([1], key: key), "every seal takes a fresh nonce")
        #expect(throws: AESGCM.Failure.invalidKey) { try AESGCM.seal([1], key: [1, 2, 3]) }
    }

    @Test func theKeyIsAcceptedAsHexBase64OrRawAndNothingElse() {
        let bytes = SecureRandom.bytes(32)
        #expect(SecretsEncryptionKey(Hex.encode(bytes))?.bytes == bytes)
        #expect(SecretsEncryptionKey(Base64.encode(bytes))?.bytes == bytes)
        #expect(SecretsEncryptionKey(Base64.encodeURLSafe(bytes) + "\n")?.bytes == bytes)
        #expect(SecretsEncryptionKey("abcdefghijklmnopqrstuvwxyz012345")?.bytes == Array("abcdefghijklmnopqrstuvwxyz012345".utf8))
        #expect(SecretsEncryptionKey("too-short") == nil)
        #expect(SecretsEncryptionKey(Base64.encode(SecureRandom.bytes(16))) == nil)
    }
}
