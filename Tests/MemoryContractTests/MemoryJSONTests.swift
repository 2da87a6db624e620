import Foundation
import MemoryContract
import Timestamps
import Testing

/// The hand-written search body must carry exactly what JSONEncoder (as the plugin sets it
/// up) writes, so no client can tell the difference. (JSONEncoder on Linux orders keys by
/// hash, differently each run; ours follow the contract's order, so the texts are
/// compared as JSON values, and the order is checked on its own.)
@Suite("Memories written as JSON by hand")
struct MemoryJSONTests {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return encoder
    }()

    static func memory(
        _ id: String, _ content: String, kind: MemoryKind = .fact, source: MemorySource = .agent, expiresAt: Timestamp? = nil,
        propagation: [String: JSONValue]? = nil, pin: Bool = false, createdAt: Int64 = 42, score: Double? = nil,
        key: String? = nil, version: Int64? = nil
    ) -> Memory {
        Memory(id: id, namespace: "team:x", content: content, kind: kind, source: source, expiresAt: expiresAt, propagation: propagation,
               pin: pin, createdAt: Timestamp(microseconds: createdAt), score: score, key: key, version: version)
    }

    static let memories: [Memory] = [
        memory("a", "plain", createdAt: 1_700_000_000_123_456),
        memory(
            "b", "quote \" backslash \\ slash / tab \t newline \n nul-ish \u{01} é 🙂", kind: .summary, source: .user,
            expiresAt: Timestamp(microseconds: 1_800_000_000_000_000), propagation: ["legacy": .object(["scope": .string("TEAM")])],
            pin: true, createdAt: 0, score: 0.016393442622950821
        ),
        memory("c", "", kind: .kv, source: .runtime, createdAt: -1, score: 1, key: "plan", version: 3),
        memory("d", "scores", kind: .checkpoint, propagation: [:], score: 1e-7),
        memory("e", "zero", score: 0),
    ]

    static func value(_ bytes: some Sequence<UInt8>) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    @Test func aSearchBodyCarriesWhatJSONEncoderWrites() throws {
        for count in [0, 1, Self.memories.count] {
            let response = SearchResponse(memories: Array(Self.memories.prefix(count)))
            #expect(try Self.value(response.jsonBytes) == Self.value(try Self.encoder.encode(response)))
        }
        #expect(String(decoding: SearchResponse(memories: []).jsonBytes, as: UTF8.self) == #"{"memories":[]}"#)
        // Escapes as JSONEncoder writes them, slash left alone.
        let text = String(decoding: SearchResponse(memories: [Self.memories[1]]).jsonBytes, as: UTF8.self)
        #expect(text.contains(#""content":"quote \" backslash \\ slash / tab \t newline \n nul-ish \u0001 é 🙂""#))
    }

    @Test func keysFollowTheContractsOrderAndEmptyFieldsAreLeftOut() {
        let text = String(decoding: SearchResponse(memories: [Self.memories[2], Self.memories[3]]).jsonBytes, as: UTF8.self)
        #expect(text == #"{"memories":[{"id":"c","namespace":"team:x","content":"","kind":"kv","source":"runtime","created_at":"1969-12-31T23:59:59.999999Z","score":1,"key":"plan","version":3},{"id":"d","namespace":"team:x","content":"scores","kind":"checkpoint","source":"agent","created_at":"1970-01-01T00:00:00.000042Z","score":1e-07}]}"#)
    }

    @Test func everyScoreReadsBackAsTheSameNumber() throws {
        for score in [0.5, 0.30000000000000004, 123456.789, 2.5e-10, 1e20, 0.999999999999] {
            var memory = Self.memories[0]
            memory.score = score
            let written = SearchResponse(memories: [memory]).jsonBytes
            #expect(try Self.value(written) == Self.value(try Self.encoder.encode(SearchResponse(memories: [memory]))))
            #expect(try JSONDecoder().decode(SearchResponse.self, from: Data(written)).memories[0].score == score)
        }
    }
}
