import Foundation
import MemoryContract
import Timestamps
import Testing

@Suite("Memory plugin contract v1")
struct ContractTests {
    let limits = ContractLimits(embeddingDimensions: 3)

    @Test func namespacesFollowThePatternAndLength() throws {
        for good in ["workspace:abc", "team:A_b-c.d:e", "org:1", "custom:x"] { try Validate.namespace(good, limits: limits) }
        for bad in ["", "workspace", "Workspace:abc", ":abc", "workspace:", "workspace:a b", "workspace:é", "a:" + String(repeating: "x", count: 300)] {
            #expect(throws: ContractError.self, "\(bad) should be refused") { try Validate.namespace(bad, limits: limits) }
        }
    }

    @Test func commitsInferTheNamespaceKindFromThePrefix() {
        #expect(NamespaceKind.inferred(from: "workspace:1") == .workspace)
        #expect(NamespaceKind.inferred(from: "org:1") == .org)
        #expect(NamespaceKind.inferred(from: "agentx:1") == .custom)
    }

    @Test func writesAreValidatedFieldByField() throws {
        try Validate.memoryWrite(MemoryWrite(content: "ok", kind: .fact, source: .agent), limits: limits)
        let cases: [(MemoryWrite, String, Int)] = [
            (MemoryWrite(content: "  \n", kind: .fact, source: .agent), "content is empty", 400),
            (MemoryWrite(content: String(repeating: "x", count: 100_001), kind: .fact, source: .agent), "content is 100001 bytes", 413),
            (MemoryWrite(content: "a\u{0}b", kind: .fact, source: .agent), "NUL", 400),
            (MemoryWrite(id: "42", content: "x", kind: .fact, source: .agent), "id must be a UUID", 400),
            (MemoryWrite(content: "x", kind: .kv, source: .agent), "key is required", 400),
            (MemoryWrite(content: "x", kind: .fact, source: .agent, key: "k"), "key is only allowed", 400),
            (MemoryWrite(content: "x", kind: .fact, source: .agent, embedding: [1, 2]), "2 dimensions", 400),
        ]
        for (write, message, status) in cases {
            let error = #expect(throws: ContractError.self) { try Validate.memoryWrite(write, limits: limits) }
            #expect(error?.message.contains(message) == true, "\(error?.message ?? "-") should mention \(message)")
            #expect(error?.status == status)
        }
        let noVector = #expect(throws: ContractError.self) {
            try Validate.memoryWrite(MemoryWrite(content: "x", kind: .fact, source: .agent, embedding: [1, 2, 3]), limits: ContractLimits(embeddingDimensions: nil))
        }
        #expect(noVector?.message.contains("without pgvector") == true)
    }

    @Test func searchChecksNamespacesAndLimit() throws {
        try Validate.search(SearchRequest(namespaces: ["workspace:a"], limit: 0), limits: limits)
        #expect(SearchRequest(namespaces: ["workspace:a"]).effectiveLimit == 20)
        #expect(throws: ContractError.self) { try Validate.search(SearchRequest(namespaces: []), limits: limits) }
        #expect(throws: ContractError.self) { try Validate.search(SearchRequest(namespaces: ["workspace:a"], limit: 101), limits: limits) }
        #expect(throws: ContractError.self) { try Validate.search(SearchRequest(namespaces: Array(repeating: "workspace:a", count: 101)), limits: limits) }
        let error = #expect(throws: ContractError.self) { try Validate.search(SearchRequest(namespaces: ["workspace:a", "bad"]), limits: limits) }
        #expect(error?.message.hasPrefix("namespaces[1]") == true)
    }

    @Test func memoriesOmitEmptyFieldsAsTheReferenceDoes() throws {
        let memory = Memory(
            id: "11111111-1111-1111-1111-111111111111", namespace: "workspace:a", content: "c", kind: .fact, source: .agent,
            expiresAt: nil, propagation: [:], pin: false, createdAt: Timestamp(microseconds: 1), score: nil, key: nil, version: nil
        )
        let json = String(decoding: try JSONEncoder().encode(memory), as: UTF8.self)
        for absent in ["expires_at", "propagation", "pin", "score", "key", "version"] {
            #expect(!json.contains("\"\(absent)\""), "\(absent) should be omitted: \(json)")
        }
        #expect(json.contains(#""created_at":"1970-01-01T00:00:00.000001Z""#))
        let empty = String(decoding: try JSONEncoder().encode(SearchResponse(memories: [])), as: UTF8.self)
        #expect(empty == #"{"memories":[]}"#)
        let lastPage = String(decoding: try JSONEncoder().encode(MemoryPage(memories: [], nextCursor: nil)), as: UTF8.self)
        #expect(lastPage.contains(#""next_cursor":null"#))
    }

    @Test func patchTellsExplicitNullFromAbsent() throws {
        let patch = try JSONDecoder().decode(NamespacePatch.self, from: Data(#"{"expires_at": null}"#.utf8))
        #expect(patch.expiresAt == .null)
        #expect(patch.metadata == .absent)
        let set = try JSONDecoder().decode(NamespacePatch.self, from: Data(#"{"metadata": {"a": [1, "x", true, null]}}"#.utf8))
        #expect(set.metadata == .value(["a": .array([.number(1), .string("x"), .bool(true), .null])]))
        #expect(throws: ContractError.self) { try Validate.namespacePatch(NamespacePatch()) }
    }

    @Test func errorBodiesCarryCodeMessageAndOptionalDetails() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let conflict = ContractError.conflict("version mismatch", details: ["current_version": .number(3)])
        #expect(conflict.status == 409)
        let body = String(decoding: try encoder.encode(conflict), as: UTF8.self)
        #expect(body == #"{"code":"bad_request","details":{"current_version":3},"message":"version mismatch"}"#)
        #expect(!String(decoding: try JSONEncoder().encode(ContractError.notFound("x")), as: UTF8.self).contains("details"))
    }
}
