import Foundation
import MemoryContract
import Testing
import Timestamps

/// The hand-written bodies of the client's hot calls say exactly what the Codable types say.
@Suite("Memory wire bodies")
struct MemoryWireTests {
    static let answer = #"""
        {"memories":[
          {"id":"3f1c0a52-8d6e-4c1b-9a53-0e2b7c0d9f11","namespace":"org:root","content":"quote \" slash \\ tab \t é 🎉",
           "kind":"fact","source":"agent","expires_at":"2026-12-31T23:59:59.5Z","propagation":{"legacy":{"scope":"GLOBAL","n":[1,2.5,null,true]}},
           "pin":true,"created_at":"2026-12-03T10:00:00.123456Z","score":0.25,"unknown":{"x":[1]}},
          {"id":"b0c1","namespace":"kv:w","content":"v","kind":"kv","source":"user","created_at":"2026-12-03T10:00:00+02:00",
           "key":"k","version":7,"expires_at":null,"pin":false}
        ],"next":null}
        """#

    @Test func aSearchAnswerDecodesAsJSONDecoderDecodesIt() throws {
        let bytes = Array(Self.answer.utf8)
        let fast = try bytes.withUnsafeBytes { try MemoryWire.decodeSearchResponse($0) }
        let foundation = try JSONDecoder().decode(SearchResponse.self, from: Data(bytes)).memories
        #expect(fast == foundation)
        #expect(fast[1].createdAt == Timestamp(rfc3339: "2026-12-03T08:00:00Z"))
        // Of a repeated field the first counts.
        let repeated = #"{"memories":[{"id":"first","id":"second","namespace":"n","content":"c","kind":"fact","source":"agent","created_at":"2026-12-03T10:00:00Z"}]}"#
        #expect(try Array(repeated.utf8).withUnsafeBytes { try MemoryWire.decodeSearchResponse($0) }.first?.id == "first")
        #expect(try [UInt8](#"{"memories":[]}"#.utf8).withUnsafeBytes { try MemoryWire.decodeSearchResponse($0) }.isEmpty)
    }

    @Test func aMalformedSearchAnswerNamesTheFieldNeverTheContent() {
        let cases: [(String, String)] = [
            (#"{"memories":[{"id":"a","namespace":"n","content":"secret","kind":"fact","source":"agent"}]}"#, "memories[0].created_at is required"),
            (#"{"memories":[{"id":"a","namespace":"n","content":"secret","kind":"fact","source":"agent","created_at":"x"}]}"#,
             "memories[0].created_at is not valid"),
            (#"{"memories":[{"id":5}]}"#, "memories[0].id has the wrong type"),
            (#"{"memories":[{"id":"a","namespace":"n","content":"secret","kind":"opinion","source":"agent","created_at":"2026-12-03T10:00:00Z"}]}"#,
             "memories[0].kind is not valid"),
            (#"{"memories":{}}"#, "memories has the wrong type"),
            (#"{}"#, "memories is required"),
            (#"[]"#, "the answer has the wrong type"),
            (#"{"memories":[{"content":"secret"#, "the answer is not valid JSON"),
        ]
        for (text, message) in cases {
            let error = #expect(throws: MemoryWire.Malformed.self) { try Array(text.utf8).withUnsafeBytes { try MemoryWire.decodeSearchResponse($0) } }
            #expect(error?.description == message)
            #expect(error?.description.contains("secret") == false)
        }
    }

    @Test func aCommitBodyDecodesToTheSameWrite() throws {
        let write = MemoryWrite(
            id: "3f1c0a52-8d6e-4c1b-9a53-0e2b7c0d9f11", content: "line\nnext \"quoted\"", kind: .checkpoint, source: .runtime,
            expiresAt: Timestamp(rfc3339: "2027-01-01T00:00:00Z"), propagation: ["a": .array([.number(1), .string("b")])], pin: true,
            embedding: [0.5, -1.25], createdAt: Timestamp(rfc3339: "2026-01-01T00:00:00.5Z"), key: "k", ifMatchVersion: 0, version: 3)
        let bytes = try #require(MemoryWire.commitRequest(write))
        #expect(try JSONDecoder().decode(MemoryWrite.self, from: Data(bytes)) == write)
        let plain = MemoryWrite(content: "x", kind: .fact, source: .agent)
        #expect(String(decoding: try #require(MemoryWire.commitRequest(plain)), as: UTF8.self) == #"{"content":"x","kind":"fact","source":"agent"}"#)
        #expect(MemoryWire.commitRequest(MemoryWrite(content: "x", kind: .fact, source: .agent, embedding: [.nan])) == nil)
    }

    @Test func aCommitAnswerDecodes() throws {
        let answer = try Array(#"{"id":"a","namespace":"workspace:w","version":2,"extra":true}"#.utf8)
            .withUnsafeBytes { try MemoryWire.decodeCommitResponse($0) }
        #expect(answer == MemoryWriteResponse(id: "a", namespace: "workspace:w", version: 2))
        #expect(throws: MemoryWire.Malformed.self) { try Array(#"{"id":"a"}"#.utf8).withUnsafeBytes { try MemoryWire.decodeCommitResponse($0) } }
    }

    @Test func aSearchBodyDecodesToTheSameRequest() throws {
        let request = SearchRequest(namespaces: ["workspace:w", "org:r"], query: "deploy \"release\"", kinds: [.fact, .kv], limit: 20, embedding: [1, 0.5])
        let bytes = try #require(MemoryWire.searchRequest(request))
        #expect(try JSONDecoder().decode(SearchRequest.self, from: Data(bytes)) == request)
        let bare = try #require(MemoryWire.searchRequest(SearchRequest(namespaces: ["workspace:w"])))
        #expect(String(decoding: bare, as: UTF8.self) == #"{"namespaces":["workspace:w"]}"#)
    }
}

/// The plugin's commit route reads its body with the batch item reader and answers with
/// `JSONWriter`: both must say what JSONDecoder and JSONEncoder say, and every body the
/// reader does not accept must fall through to JSONDecoder (which then words the refusal).
@Suite("Plugin commit bodies")
struct PluginCommitWireTests {
    static func fast(_ text: String) -> MemoryWrite? {
        Array(text.utf8).withUnsafeBytes { MemoryWire.decodeCommitRequest($0) }
    }

    static func foundation(_ text: String) -> MemoryWrite? {
        try? JSONDecoder().decode(MemoryWrite.self, from: Data(text.utf8))
    }

    @Test func validBodiesDecodeAsJSONDecoderDecodesThem() throws {
        let bodies = [
            #"{"content":"x","kind":"fact","source":"agent"}"#,
            #"  {"content":"quote \" slash \\ \u00e9 🎉","kind":"summary","source":"runtime","pin":false,"unknown":[1,{"a":null}]}  "#,
            #"{"id":"3F1C0A52-8D6E-4C1B-9A53-0E2B7C0D9F11","content":"c","kind":"checkpoint","source":"user","expires_at":"2027-01-01T00:00:00+02:00","#
                + #""propagation":{"legacy":{"scope":"TEAM","n":[1,2.5,-0.0,1e3,null,true]}},"embedding":[0.5,-1.25,3,1e-3],"created_at":"2026-01-01T00:00:00.123456Z"}"#,
            #"{"content":"v","kind":"kv","source":"agent","key":"k","if_match_version":0,"version":3.0,"id":null,"pin":null,"expires_at":null}"#,
            #"{"content":"first","content":"second","kind":"fact","source":"agent","namespace":7}"#,
        ]
        for body in bodies {
            let fast = try #require(Self.fast(body), "\(body)")
            #expect(fast == Self.foundation(body), "\(body)")
        }
    }

    @Test func bodiesTheReaderDoesNotAcceptAreLeftToJSONDecoder() {
        let bodies = [
            #"{"kind":"fact","source":"agent"}"#,
            #"{"content":null,"kind":"fact","source":"agent"}"#,
            #"{"content":"x","kind":"opinion","source":"agent"}"#,
            #"{"content":"x","kind":"fact","source":"agent","pin":"yes"}"#,
            #"{"content":"x","kind":"fact","source":"agent","created_at":"yesterday"}"#,
            #"{"content":"x","kind":"fact","source":"agent","embedding":[1,"2"]}"#,
            #"{"content":"x","kind":"fact","source":"agent","version":1.5}"#,
            #"{"content":"x","kind":"fact","source":"agent"} trailing"#,
            #"["content"]"#,
            #"{"content":"x","kind":"fact","source":"agent""#,
            "",
        ]
        for body in bodies {
            #expect(Self.fast(body) == nil, "\(body)")
            #expect(Self.foundation(body) == nil, "JSONDecoder accepts \(body)")
        }
    }

    @Test func theAnswerSaysWhatJSONEncoderSays() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        for response in [
            MemoryWriteResponse(id: "3f1c0a52-8d6e-4c1b-9a53-0e2b7c0d9f11", namespace: "workspace:a.b-c_d:e"),
            MemoryWriteResponse(id: "3f1c0a52-8d6e-4c1b-9a53-0e2b7c0d9f11", namespace: "kv:w", version: 9_007_199_254_740_993),
        ] {
            // The same members and values (JSONEncoder's member order is its own).
            let fast = Data(MemoryWire.commitResponse(response))
            let foundation = try encoder.encode(response)
            #expect(try JSONDecoder().decode(MemoryWriteResponse.self, from: fast) == response)
            let members = { (data: Data) in (try JSONSerialization.jsonObject(with: data) as? [String: Any])?.keys.sorted() }
            #expect(try members(fast) == members(foundation))
            #expect(fast.count == foundation.count)
        }
    }
}
