import Postgres
import TenantCrypto
import Testing

@Suite("Encodings and digests")
struct EncodingTests {
    @Test func sha256MatchesKnownVectors() {
        #expect(SHA256.hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func base64RoundTripsInBothAlphabets() {
        for length in 0..<40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 * 37 + 250) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
            #expect(Base64.decode(Base64.encodeURLSafe(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.encodeURLSafe([0xFB, 0xFF]) == "-_8")
        #expect(Base64.decode("not*base64") == nil)
    }

    @Test func hexRoundTrips() {
        #expect(Hex.encode([0, 15, 255]) == "000fff")
        #expect(Hex.decode("000FFF") == [0, 15, 255])
        #expect(Hex.decode("abc") == nil)
    }

    @Test func randomBytesDiffer() {
        #expect(SecureRandom.bytes(32) != SecureRandom.bytes(32))
        #expect(SecureRandom.bytes(32).count == 32)
    }

    @Test func constantTimeEqualsComparesWholeValues() {
        #expect(constantTimeEquals(Array("token".utf8), Array("token".utf8)))
        #expect(!constantTimeEquals(Array("token".utf8), Array("tokem".utf8)))
        #expect(!constantTimeEquals(Array("token".utf8), Array("token2".utf8)))
    }

    @Test func timestampsParseRFC3339AndPrintMicroseconds() {
        #expect(PostgresTimestamp(rfc3339: "1970-01-01T00:00:00Z")?.microseconds == 0)
        #expect(PostgresTimestamp(rfc3339: "2026-11-23T09:35:46.5+01:00")?.rfc3339 == "2026-11-23T08:35:46.500000Z")
        #expect(PostgresTimestamp(rfc3339: "2024-02-29 12:00:00.123456789+00")?.rfc3339 == "2024-02-29T12:00:00.123456Z")
        #expect(PostgresTimestamp(rfc3339: "1969-12-31T23:59:59.999999Z")?.microseconds == -1)
        #expect(PostgresTimestamp(rfc3339: "2023-02-29T00:00:00Z") == nil)
        #expect(PostgresTimestamp(rfc3339: "yesterday") == nil)
    }
}
