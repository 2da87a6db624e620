@testable import Backfill
import MemoryContract
import Testing
import Timestamps

@Suite("Mapping legacy rows to plugin writes")
struct LegacyMapperTests {
    let tree = WorkspaceTree(parents: ["root": nil, "child": "root", "grandchild": "child", "loop-a": "loop-b", "loop-b": "loop-a"])
    var mapper: LegacyMapper { LegacyMapper(tree: tree) }
    let at = Timestamp(microseconds: 1_614_834_367_123_456)

    func memory(_ workspace: String?, _ scope: String, _ content: String = "a memory") -> LegacyRecord {
        .memory(LegacyMemory(id: "4f1c2d3e-0000-4000-8000-000000000001", workspaceID: workspace, content: content, scope: scope,
                             namespaceTag: "general", createdAt: at, embedding: nil))
    }

    func namespace(_ outcome: MappingOutcome) -> String? {
        if case .write(let row) = outcome { return row.namespace }
        return nil
    }

    func reason(_ outcome: MappingOutcome) -> SkipReason? {
        if case .skip(_, let reason) = outcome { return reason }
        return nil
    }

    @Test func scopesMapToTheNamespacesTheResolverGivesTheWorkspaceToday() {
        #expect(namespace(mapper.map(memory("root", "LOCAL"))) == "workspace:root")
        #expect(namespace(mapper.map(memory("root", "TEAM"))) == "team:root")
        #expect(namespace(mapper.map(memory("root", "GLOBAL"))) == "org:root")
        #expect(namespace(mapper.map(memory("child", "TEAM"))) == "team:root")
        #expect(namespace(mapper.map(memory("grandchild", "TEAM"))) == "team:child")
        #expect(namespace(mapper.map(memory("grandchild", "LOCAL"))) == "workspace:grandchild")
    }

    @Test func rowsThatCannotBePlacedAreSkippedWithTheirReason() {
        #expect(reason(mapper.map(memory(nil, "LOCAL"))) == .noWorkspace)
        #expect(reason(mapper.map(memory("child", "GLOBAL"))) == .globalFromNonRoot)
        #expect(reason(mapper.map(memory("nobody", "LOCAL"))) == .unknownWorkspace)
        #expect(reason(mapper.map(memory("loop-a", "LOCAL"))) == .brokenTree)
        #expect(reason(mapper.map(memory("root", "local"))) == .unknownScope)
        #expect(reason(mapper.map(memory("root", "LOCAL", " \n\t"))) == .emptyContent)
        #expect(reason(mapper.map(memory("root", "LOCAL", String(repeating: "é", count: 50_001)))) == .contentTooLarge)
    }

    @Test func aCopyKeepsIdTimeScopeAndTagAndIsRedacted() throws {
        guard case .write(let row) = mapper.map(memory("child", "TEAM", "token: Bearer abcdefghijklmnop1234567890")) else {
            Issue.record("not mapped")
            return
        }
        #expect(row.write.id == "4f1c2d3e-0000-4000-8000-000000000001")
        #expect(row.write.createdAt == at)
        #expect(row.write.kind == .fact && row.write.source == .agent)
        #expect(row.write.content == "token: Bearer [REDACTED:BEARER_TOKEN]")
        #expect(row.write.propagation == ["legacy": .object(["table": .string("agent_memories"), "scope": .string("TEAM"), "namespace": .string("general")])])
    }

    @Test func keyValueRowsKeepKeyVersionAndExpiryAndExpiredOnesAreSkipped() {
        let live = LegacyKeyValue(id: "5f1c2d3e-0000-4000-8000-000000000001", workspaceID: "child", key: "plan", value: #"{"a": 1}"#,
                                  version: 7, expiresAt: Timestamp(microseconds: 4_000_000_000_000_000), expired: false, updatedAt: at)
        guard case .write(let row) = mapper.map(.keyValue(live)) else {
            Issue.record("not mapped")
            return
        }
        #expect(row.namespace == "workspace:child")
        #expect(row.write.kind == .kv && row.write.key == "plan" && row.write.version == 7)
        #expect(row.write.expiresAt == live.expiresAt && row.write.createdAt == at)
        var expired = live
        expired.expired = true
        #expect(reason(mapper.map(.keyValue(expired))) == .expired)
        var longKey = live
        longKey.key = String(repeating: "k", count: 1025)
        #expect(reason(mapper.map(.keyValue(longKey))) == .invalidKey)
    }

    @Test func embeddingsTravelOnlyWithMatchingDimensions() {
        let withVector = LegacyRecord.memory(LegacyMemory(id: "4f1c2d3e-0000-4000-8000-000000000002", workspaceID: "root", content: "v",
                                                          scope: "LOCAL", namespaceTag: nil, createdAt: at, embedding: [0.1, 0.2, 0.3]))
        if case .write(let row) = LegacyMapper(tree: tree, embeddingDimensions: 3).map(withVector) {
            #expect(row.write.embedding == [0.1, 0.2, 0.3])
        } else {
            Issue.record("not mapped")
        }
        if case .write(let row) = LegacyMapper(tree: tree, embeddingDimensions: 4).map(withVector) {
            #expect(row.write.embedding == nil)
        }
        if case .write(let row) = mapper.map(withVector) { #expect(row.write.embedding == nil) }
    }

    @Test func largeBatchesAreSplitUnderTheBodyCap() {
        let big = String(repeating: "\"/", count: 40_000)  // 80,000 bytes that double when escaped
        let rows = (0..<40).map { index in
            MappedRow(record: memory("root", "LOCAL"), namespace: "workspace:root",
                      write: MemoryWrite(id: "4f1c2d3e-0000-4000-8000-0000000000\(10 + index)", content: big, kind: .fact, source: .agent))
        }
        let chunks = BatchSplitter.split(rows)
        #expect(chunks.count > 1)
        #expect(chunks.flatMap { $0 }.count == 40)
        #expect(chunks.allSatisfy { $0.map(BatchSplitter.estimate).reduce(0, +) <= BatchSplitter.maxRequestBytes })
    }

    @Test func theQuickBoundNeverUndercutsTheEstimate() {
        let rows = ["", "plain", "\"/\\\u{1}", String(repeating: "Zoë 🚀 \n", count: 50)].map { content in
            MappedRow(record: memory("root", "LOCAL"), namespace: "workspace:\"/", write: MemoryWrite(
                id: "4f1c2d3e-0000-4000-8000-000000000010", content: content, kind: .kv, source: .agent,
                propagation: ["legacy": .object(["\"": .string("\u{0}/"), "n": .number(1), "list": .array([.string("\\"), .null])])],
                embedding: [1, 2], key: "k\"ey", version: 1))
        }
        for row in rows { #expect(BatchSplitter.roughBound(row) >= BatchSplitter.estimate(row)) }
        #expect(BatchSplitter.split(rows).count == 1)
    }

    @Test func legacySpellingsAreRewrittenOnlyForBackfill() {
        #expect(LegacyFlagSpelling.rewrite(["backfill", "-apply", "-verify-sample=5", "-workspace", "w", "-limit=3", "-apply=false"])
            == ["backfill", "--apply", "--verify-sample=5", "--workspace", "w", "--limit=3"])
        #expect(LegacyFlagSpelling.rewrite(["migrate", "-apply"]) == ["migrate", "-apply"])
    }
}
