import Foundation
import MemoryContract
@testable import MemoryPlugin
import Migrations
import Postgres
import TestSupport
import Testing

/// PostgreSQL with pgvector, from the fresh-host lab (`Tests/lab/pgvector.sh up` prints
/// it; `Tests/lab/tests.sh` runs these tests with it). The host's test server has no
/// pgvector on Debian 12, so without the lab these tests are skipped, saying why.
enum LabPgvector {
    static var url: String? {
        guard let url = ProcessInfo.processInfo.environment["LAB_PGVECTOR_URL"], !url.isEmpty else { return nil }
        return url
    }
}

/// A migrated database on the pgvector server with the embedding column prepared.
func withVectorStore<T>(dimensions: Int = 3, _ body: (MemoryStore, PostgresPool) async throws -> T) async throws -> T {
    try await withTestDatabase("vec", maxConnections: 4, on: LabPgvector.url!) { _, pool in
        try await MigrationRunner(pool: pool).up(.memoryPlugin)
        let support = try await EmbeddingColumn.prepare(pool, dimensions: dimensions)
        #expect(support == .available(dimensions: dimensions))
        return try await body(MemoryStore(pool: pool, embeddingDimensions: dimensions), pool)
    }
}

func embedded(_ content: String, _ vector: [Float], pin: Bool? = nil) -> MemoryWrite {
    MemoryWrite(content: content, kind: .fact, source: .agent, pin: pin, embedding: vector)
}

@Suite(
    "Embeddings with pgvector",
    .enabled(if: LabPgvector.url != nil, "LAB_PGVECTOR_URL is not set: run Tests/lab/tests.sh (or Tests/lab/pgvector.sh up) for PostgreSQL with pgvector")
)
struct EmbeddingTests {
    @Test func searchByEmbeddingRanksTheNearestFirstWithCosineScores() async throws {
        try await withVectorStore { store, _ in
            _ = try await store.commit("workspace:v", embedded("east", [1, 0, 0]))
            _ = try await store.commit("workspace:v", embedded("north-east", [0.7, 0.7, 0]))
            _ = try await store.commit("workspace:v", embedded("up", [0, 0, 1]))
            _ = try await store.commit("workspace:v", fact("no embedding at all"))
            let hits = try await store.search(SearchRequest(namespaces: ["workspace:v"], embedding: [0.9, 0.1, 0]))
            #expect(hits.map(\.content) == ["east", "north-east", "up"])
            let east = try #require(hits.first?.score)
            #expect(abs(east - 0.9939) < 0.001)
        }
    }

    @Test func pinnedMemoriesComeFirstInVectorSearch() async throws {
        try await withVectorStore { store, _ in
            _ = try await store.commit("workspace:v", embedded("close", [1, 0, 0]))
            _ = try await store.commit("workspace:v", embedded("far but pinned", [0, 0, 1], pin: true))
            let hits = try await store.search(SearchRequest(namespaces: ["workspace:v"], embedding: [1, 0, 0]))
            #expect(hits.map(\.content) == ["far but pinned", "close"])
        }
    }

    @Test func queryAndEmbeddingTogetherFuseBothRankings() async throws {
        try await withVectorStore { store, _ in
            // Text ranks "deploy deploy..." first and "deploy notes" second; the vector ranks
            // "deploy notes" first. Fused, the memory both rankings like comes first.
            _ = try await store.commit("workspace:v", embedded("deploy deploy deploy the release train", [0, 1, 0]))
            _ = try await store.commit("workspace:v", embedded("unrelated words entirely", [0.5, 0.5, 0.7]))
            _ = try await store.commit("workspace:v", embedded("deploy notes", [0.95, 0.05, 0]))
            let hits = try await store.search(SearchRequest(namespaces: ["workspace:v"], query: "deploy", embedding: [1, 0, 0]))
            #expect(hits.first?.content == "deploy notes")
            #expect(Set(hits.map(\.content)) == ["deploy notes", "deploy deploy deploy the release train", "unrelated words entirely"])
            let scores = hits.compactMap(\.score)
            #expect(scores.count == 3 && scores == scores.sorted(by: >))
        }
    }

    @Test func theHNSWIndexServesVectorSearch() async throws {
        try await withVectorStore(dimensions: 8) { store, pool in
            var items: [BatchItem] = []
            for index in 0..<3000 {
                let vector = (0..<8).map { Float(sin(Double(index * 8 + $0))) }
                items.append(BatchItem(namespace: "workspace:big", write: embedded("memory \(index)", vector)))
                if items.count == 1000 {
                    _ = try await store.batch(items, limits: ContractLimits(embeddingDimensions: 8))
                    items = []
                }
            }
            try await pool.query("ANALYZE memory_plugin.memory_records")
            let plan = try await pool.query("EXPLAIN " + MemoryStore.vectorSQL, [
                ["workspace:big"], ["fact", "summary", "checkpoint"], 20, 100, PostgresVector([1, 0, 0, 0, 0, 0, 0, 1]),
            ])
            let text = try plan.rows.map { try $0.decode(String.self, at: 0) }.joined(separator: "\n")
            #expect(text.contains(EmbeddingColumn.indexName), "the planner did not use the HNSW index:\n\(text)")
        }
    }

    @Test func batchWritesKeepEmbeddingsAndARerunIsUnchanged() async throws {
        try await withVectorStore { store, _ in
            let id = UUID().uuidString.lowercased()
            var write = embedded("batched", [0, 1, 0])
            write.id = id
            let limits = ContractLimits(embeddingDimensions: 3)
            #expect(try await store.batch([BatchItem(namespace: "workspace:v", write: write)], limits: limits).map(\.status) == [.created])
            #expect(try await store.batch([BatchItem(namespace: "workspace:v", write: write)], limits: limits).map(\.status) == [.unchanged])
            write.embedding = [0, 0, 1]
            #expect(try await store.batch([BatchItem(namespace: "workspace:v", write: write)], limits: limits).map(\.status) == [.updated])
            let hits = try await store.search(SearchRequest(namespaces: ["workspace:v"], embedding: [0, 0, 1]))
            #expect(hits.first?.id == id && (hits.first?.score ?? 0) > 0.999)
        }
    }

    @Test func anExistingColumnOfOtherDimensionsIsKeptAndReported() async throws {
        try await withTestDatabase("vec", on: LabPgvector.url!) { _, pool in
            try await MigrationRunner(pool: pool).up(.memoryPlugin)
            #expect(try await EmbeddingColumn.prepare(pool, dimensions: 3) == .available(dimensions: 3))
            let support = try await EmbeddingColumn.prepare(pool, dimensions: 4)
            guard case .unavailable(let reason) = support else { Issue.record("expected unavailable, got \(support)"); return }
            #expect(reason.contains("vector(3)") && reason.contains("MEMORY_PLUGIN_EMBEDDING_DIMS=4"))
        }
    }

    @Test func thePluginAdvertisesEmbeddingsAndRefusesWrongDimensions() async throws {
        let database = try await TestPostgres.createDatabase("vecplugin", on: LabPgvector.url!)
        defer { database.drop() }
        let plugin = try await RunningPlugin(databaseURL: database.url, extra: ["MEMORY_PLUGIN_EMBEDDING_DIMS": "3"])
        defer { _ = plugin.stop() }
        let health = try plugin.send("GET", "/v1/health")
        #expect(health.text.contains("\"embedding\""))
        let wrong = try plugin.send("POST", "/v1/namespaces/workspace:p/memories", #"{"content":"x","kind":"fact","source":"agent","embedding":[1,2]}"#)
        #expect(wrong.status == 400)
        #expect(wrong.text.contains("dimensions"))
        let right = try plugin.send("POST", "/v1/namespaces/workspace:p/memories", #"{"content":"x","kind":"fact","source":"agent","embedding":[1,2,3]}"#)
        #expect(right.status == 201)
        let search = try plugin.send("POST", "/v1/search", #"{"namespaces":["workspace:p"],"embedding":[1,2,3]}"#)
        #expect(search.status == 200 && search.text.contains("\"score\""))
    }
}
