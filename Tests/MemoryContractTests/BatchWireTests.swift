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

    /// The plugin decodes batch bodies with its own reader; every item must come out as
    /// JSONDecoder makes it, errors and their messages included.
    @Test func theBatchReaderDecodesItemsAsJSONDecoderDoes() throws {
        let items = [
            #"{"namespace":"workspace:a","content":"plain","kind":"fact","source":"agent"}"#,
            #"{"namespace":"team:b","id":"0b7e6a52-1d3c-4f65-8a0e-3c1d9f2b4a77","content":"esc \" \\ \/ \b\f\n\r\t \u00e9 \ud83d\ude80 Zoë","kind":"summary","source":"user","expires_at":"2030-01-02T03:04:05.5Z","created_at":"2023-01-02T03:04:05.123456+02:00","propagation":{"legacy":{"scope":"TEAM","n":3,"x":-0.25e1,"ok":true,"none":null,"list":["a",1,{}]}},"pin":false,"embedding":[0.5,-1,1e-7,0],"unknown":{"deep":[1,2,{"x":null}]}}"#,
            #"{"content":"{}","kind":"kv","source":"runtime","pin":true,"key":"k","if_match_version":0}"#,
            #"{"namespace":"workspace:a","content":"v","kind":"kv","source":"agent","key":"plan","version":9.0,"id":null,"propagation":null}"#,
            #"{"namespace":"workspace:a","content":"first","content":"last wins","kind":"fact","source":"agent"}"#,
            #"{"namespace":7,"content":"namespace of the wrong type","kind":"fact","source":"agent"}"#,
            #"{"namespace":"workspace:a","kind":"fact","source":"agent"}"#,
            #"{"namespace":"workspace:a","content":null,"kind":"fact","source":"agent"}"#,
            #"{"namespace":"workspace:a","content":"x","kind":"opinion","source":"agent"}"#,
            #"{"namespace":"workspace:a","content":"x","kind":"fact","source":"robot"}"#,
            #"{"namespace":"workspace:a","content":"x","kind":"fact"}"#,
            #"{"namespace":"workspace:a","content":5,"kind":"fact","source":"agent"}"#,
            #"{"namespace":"workspace:a","content":"x","kind":"fact","source":"agent","pin":"yes"}"#,
            #"{"namespace":"workspace:a","content":"x","kind":"fact","source":"agent","expires_at":"tomorrow"}"#,
            #"{"namespace":"workspace:a","content":"x","kind":"fact","source":"agent","created_at":12}"#,
            #"{"namespace":"workspace:a","content":"x","kind":"fact","source":"agent","propagation":[1]}"#,
            #"{"namespace":"workspace:a","content":"x","kind":"fact","source":"agent","embedding":[1,"two",3]}"#,
            #"{"namespace":"workspace:a","content":"x","kind":"kv","source":"agent","key":"k","version":"2"}"#,
            #"{"namespace":"workspace:a","id":5,"content":null,"kind":"opinion","source":"agent"}"#,
            #""not an object""#,
            #"[1,2]"#,
            #"null"#,
        ]
        let body = "{\"other\":[true,{\"a\":1}],\"items\":[" + items.joined(separator: ",") + "]}"
        let expected = try JSONDecoder().decode(BatchRequest.self, from: Data(body.utf8)).items
        let decoded = try Array(body.utf8).withUnsafeBytes { bytes throws(ContractError) in try BatchWire.decodeRequest(bytes) }
        #expect(decoded.count == items.count)
        for (index, (ours, theirs)) in zip(decoded, expected).enumerated() {
            #expect(ours.namespace == theirs.namespace, "item \(index)")
            switch (ours.write, theirs.write) {
            case (.success(let mine), .success(let reference)): #expect(mine == reference, "item \(index)")
            case (.failure(let mine), .failure(let reference)): #expect(mine == reference, "item \(index)")
            default: Issue.record("item \(index): \(ours.write) but JSONDecoder gives \(theirs.write)")
            }
        }
        // A number the field cannot hold fails JSONDecoder's whole request ("not valid
        // JSON"); the reader fails only its item.
        let unfit = #"{"items":[{"namespace":"workspace:a","content":"x","kind":"kv","source":"agent","key":"k","version":1.5},"#
            + #"{"namespace":"workspace:a","content":"x","kind":"fact","source":"agent","embedding":[1,1e40]},"#
            + #"{"namespace":"workspace:a","content":"x","kind":"fact","source":"agent"}]}"#
        let read = try Array(unfit.utf8).withUnsafeBytes { bytes throws(ContractError) in try BatchWire.decodeRequest(bytes) }
        #expect(read.map { (try? $0.write.get()) == nil } == [true, true, false])
        #expect(read.first.flatMap { if case .failure(let error) = $0.write { error.message } else { nil } } == "items[0].version is not valid")
        #expect(read.dropFirst().first.flatMap { if case .failure(let error) = $0.write { error.message } else { nil } } == "items[1].embedding[1] is not valid")
    }

    /// Namespaces and `propagation` objects that recur are decoded once and shared; items
    /// whose bytes differ (spacing, escapes, key order) still decode as JSONDecoder has them.
    @Test func repeatedNamespacesAndPropagationsDecodeAsJSONDecoderDoes() throws {
        let items = [
            #"{"namespace":"workspace:a","content":"1","kind":"fact","source":"agent","propagation":{"legacy":{"scope":"LOCAL","table":"agent_memories"}}}"#,
            #"{"namespace":"workspace:a","content":"2","kind":"fact","source":"agent","propagation":{"legacy":{"scope":"LOCAL","table":"agent_memories"}}}"#,
            #"{"namespace":"workspace:\u0061","content":"3","kind":"fact","source":"agent","propagation": {"legacy": {"table":"agent_memories","scope":"LOCAL"}}}"#,
            #"{"namespace":"workspace:b","content":"4","kind":"fact","source":"agent","propagation":{"legacy":{"scope":"TEAM","table":"agent_memories"}}}"#,
            #"{"namespace":"workspace:a","content":"5","kind":"fact","source":"agent","propagation":{"legacy":{"scope":"LOCAL","table":"agent_memories"},"x":1}}"#,
            #"{"namespace":"workspace:a","content":"6","kind":"fact","source":"agent","propagation":{"legacy":{"scope":"LOCAL","table":"agent_memories"}}}"#,
        ]
        let body = "{\"items\":[" + items.joined(separator: ",") + "]}"
        let expected = try JSONDecoder().decode(BatchRequest.self, from: Data(body.utf8)).items
        let decoded = try Array(body.utf8).withUnsafeBytes { bytes throws(ContractError) in try BatchWire.decodeRequest(bytes) }
        #expect(decoded.map(\.namespace) == expected.map(\.namespace))
        #expect(decoded.map(\.namespace) == ["workspace:a", "workspace:a", "workspace:a", "workspace:b", "workspace:a", "workspace:a"])
        #expect(try decoded.map { try $0.write.get() } == expected.map { try $0.write.get() })
        #expect(try decoded.map { try $0.write.get().propagation?.count } == [1, 1, 1, 1, 2, 1])
    }

    @Test func aBodyThatIsNotABatchIsRefusedAsAWhole() {
        func refusal(_ body: String) -> String? {
            do {
                _ = try Array(body.utf8).withUnsafeBytes { bytes throws(ContractError) in try BatchWire.decodeRequest(bytes) }
                return nil
            } catch let error as ContractError {
                return error.message
            } catch {
                return "\(error)"
            }
        }
        let broken = [
            "", "{", #"{"items":[}"#, #"{"items":[{"content":"x",}]}"#, #"{"items":[]} x"#, #"{"items":[01]}"#,
            #"{"items":["\ud800"]}"#, "{\"items\":[\"tab\there\"]}", #"{"items":[1.]}"#, #"{"items":[-]}"#, #"{"items":[tru]}"#,
            #"{"items":["\x"]}"#,
            String(repeating: "[", count: 600) + String(repeating: "]", count: 600),
        ]
        for body in broken {
            #expect(refusal(body) == "body is not valid JSON", "\(body.prefix(40))")
        }
        #expect(refusal(#"{"item":[]}"#) == "items is required")
        #expect(refusal(#"{"items":{}}"#) == "items has the wrong type")
        #expect(refusal(#"[]"#) == "body has the wrong type")
        #expect(refusal(#" {"items":[]} "#) == nil)
        // Invalid UTF-8 inside a string.
        var bytes = Array(#"{"items":["x"]}"#.utf8)
        bytes[11] = 0xFF
        let invalid = (try? bytes.withUnsafeBytes { bytes throws(ContractError) in try BatchWire.decodeRequest(bytes) }) == nil
        #expect(invalid)
    }
}
