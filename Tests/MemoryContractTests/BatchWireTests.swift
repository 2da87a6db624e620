import Foundation
import MemoryContract
import Timestamps
import Testing

/// The batch route's hand-written JSON must say exactly what the Codable types say.
@Suite("Batch route JSON")
struct BatchWireTests {
    @Test func aRequestDecodesToTheWritesItWasMadeOf() throws {
        let then = Timestamp(rfc3339: "2023-01-02T03:04:05.123456Z")!
        let writes: [(String?, MemoryWrite)] = [
            ("workspace:a", MemoryWrite(content: "plain", kind: .fact, source: .agent)),
            ("team:b", MemoryWrite(
                id: "0b7e6a52-1d3c-4f65-8a0e-3c1d9f2b4a77", content: "quote \" backslash \\ newline \n tab \t bell \u{7} Zoë 🚀 </script>",
                kind: .summary, source: .user, expiresAt: then,
                propagation: ["legacy": .object(["scope": .string("TEAM"), "n": .number(3), "x": .number(0.25), "big": .number(1e20),
                                                 "ok": .bool(true), "none": .null, "list": .array([.string("a"), .number(-1)])])],
                pin: false, embedding: [0.5, -1, 1e-7, 3.4028235e38], createdAt: then)),
            (nil, MemoryWrite(content: "{}", kind: .kv, source: .runtime, pin: true, key: "k\u{0}ey", ifMatchVersion: 0)),
            ("workspace:a", MemoryWrite(content: "v", kind: .kv, source: .agent, createdAt: then, key: "plan", version: 9)),
        ]
        let bytes = try #require(BatchWire.request(writes.map { (namespace: $0.0, write: $0.1) }))
        let decoded = try JSONDecoder().decode(BatchRequest.self, from: Data(bytes))
        #expect(decoded.items.map(\.namespace) == writes.map(\.0))
        #expect(try decoded.items.map { try $0.write.get() } == writes.map(\.1))
    }

    @Test func aNonFiniteNumberIsRefusedInsteadOfWritten() {
        let write = MemoryWrite(content: "x", kind: .fact, source: .agent, propagation: ["n": .number(.infinity)])
        #expect(BatchWire.request([(namespace: "workspace:a", write: write)]) == nil)
        let vector = MemoryWrite(content: "x", kind: .fact, source: .agent, embedding: [.nan])
        #expect(BatchWire.request([(namespace: "workspace:a", write: vector)]) == nil)
    }

    @Test func aResponseDecodesToTheResultsItWasMadeOf() throws {
        let results = [
            BatchItemResult(index: 0, id: "0b7e6a52-1d3c-4f65-8a0e-3c1d9f2b4a77", status: .created),
            BatchItemResult(index: 1, id: nil, status: .error, error: .badRequest("items[1].kind is not \"valid\"")),
            BatchItemResult(index: 2, id: "9a1f2e3d-4c5b-4a69-8e7f-0a1b2c3d4e5f", status: .error,
                            error: .conflict("key plan holds version 7", details: ["current_version": .number(7)])),
            BatchItemResult(index: 3, id: "9a1f2e3d-4c5b-4a69-8e7f-0a1b2c3d4e5f", status: .unchanged, version: 7),
        ]
        let bytes = BatchWire.response(results)
        let decoded = try JSONDecoder().decode(BatchResponse.self, from: Data(bytes))
        // The status code is not on the wire; compare what is.
        #expect(decoded.results.map(\.index) == [0, 1, 2, 3])
        #expect(decoded.results.map(\.id) == results.map(\.id))
        #expect(decoded.results.map(\.status) == results.map(\.status))
        #expect(decoded.results.map(\.version) == results.map(\.version))
        #expect(decoded.results.map { $0.error?.message } == results.map { $0.error?.message })
        #expect(decoded.results.map { $0.error?.code } == results.map { $0.error?.code })
        #expect(decoded.results[2].error?.details == ["current_version": .number(7)])
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(text.hasPrefix(#"{"results":[{"index":0,"id":"0b7e6a52-1d3c-4f65-8a0e-3c1d9f2b4a77","status":"created"}"#))
        #expect(text.contains(#"{"index":1,"id":null,"status":"error","error":{"code":"bad_request","message":"items[1].kind is not \"valid\""}}"#))
    }
}
