import Foundation
import MemoryContract
import MemoryPlugin
import Migrations
import Postgres
import TestSupport
import Testing

@Suite("Batch writes")
struct BatchTests {
    let limits = ContractLimits(embeddingDimensions: nil)

    @Test func aBatchReportsEachItemAndARerunReportsThemUnchanged() async throws {
        try await withStore { store, pool in
            let then = Timestamp(rfc3339: "2022-01-02T03:04:05.678901Z")!
            let ids = (0..<300).map { _ in UUID().uuidString.lowercased() }
            var items = ids.enumerated().map { index, id in
                BatchItem(namespace: "workspace:w\(index % 3)", write: fact("legacy memory \(index)", id: id, createdAt: then))
            }
            items.append(BatchItem(namespace: "workspace:w0", write: MemoryWrite(content: "  ", kind: .fact, source: .agent)))
            items.append(BatchItem(namespace: "workspace:kv", write: MemoryWrite(content: "{}", kind: .kv, source: .agent, key: "prefs")))
            let first = try await store.batch(items, limits: limits)
            #expect(first.count == 302)
            #expect(first[0..<300].allSatisfy { $0.status == .created })
            #expect(first.map(\.index) == Array(0..<302))
            #expect(first[300].status == .error && first[300].error?.message == "content is empty")
            #expect(first[301].status == .created && first[301].version == 1)

            let again = try await store.batch(Array(items[0..<300]), limits: limits)
            #expect(again.allSatisfy { $0.status == .unchanged }, "\(again.filter { $0.status != .unchanged }.prefix(3))")
            #expect(try await pool.query("SELECT count(*) FROM memory_plugin.memory_records WHERE kind = 'fact'")[0].decode(Int.self, at: 0) == 300)
            let kept = try await pool.query("SELECT count(*) FROM memory_plugin.memory_records WHERE created_at = $1", [then])
            #expect(try kept[0].decode(Int.self, at: 0) == 300)

            // A changed item is updated; the same id aimed at another namespace fails alone.
            let mixed = try await store.batch([
                BatchItem(namespace: "workspace:w0", write: fact("legacy memory 0, edited", id: ids[0], createdAt: then)),
                BatchItem(namespace: "workspace:elsewhere", write: fact("moved?", id: ids[3])),
                BatchItem(namespace: "workspace:w0", write: fact("brand new")),
            ], limits: limits)
            #expect(mixed.map(\.status) == [.updated, .error, .created])
            #expect(mixed[1].error?.status == 409)
        }
    }

    @Test func aKeyValueImportKeepsItsVersionAndARerunIsUnchanged() async throws {
        try await withStore { store, pool in
            let then = Timestamp(rfc3339: "2024-01-01T10:00:00.654321Z")!
            func entry(_ value: String, version: Int64) -> BatchItem {
                BatchItem(namespace: "workspace:w", write: MemoryWrite(
                    id: "30000000-0000-4000-8000-000000000001", content: value, kind: .kv, source: .agent, createdAt: then, key: "plan", version: version))
            }
            let first = try await store.batch([entry("{\"step\": 1}", version: 3)], limits: limits)
            #expect(first.map(\.status) == [.created] && first[0].version == 3)
            let again = try await store.batch([entry("{\"step\": 1}", version: 3)], limits: limits)
            #expect(again.map(\.status) == [.unchanged] && again[0].version == 3)
            let newer = try await store.batch([entry("{\"step\": 2}", version: 4)], limits: limits)
            #expect(newer.map(\.status) == [.updated] && newer[0].version == 4)
            // The plugin holds version 4 now: importing the older version 3 must not overwrite it.
            let older = try await store.batch([entry("{\"step\": 1}", version: 3)], limits: limits)
            #expect(older[0].status == .error && older[0].error?.status == 409)
            let stored = try await pool.query("SELECT content, version, created_at FROM memory_plugin.memory_records WHERE key = 'plan'")[0]
            #expect(try stored.decode(String.self, at: 0) == "{\"step\": 2}")
            #expect(try stored.decode(Int64.self, at: 1) == 4)
            #expect(try stored.decode(Timestamp.self, at: 2) == then)
            // A single commit with a version is the same import.
            let single = try await store.commit("workspace:w", entry("{\"step\": 2}", version: 4).write.get())
            #expect(single.version == 4)
        }
    }
}

@Suite("Statistics after bulk writes")
struct StatisticsRefreshTests {
    @Test func bulkWritesAboveTheThresholdAnalyzeTheTableOnce() async throws {
        try await withTestDatabase("stats") { database, pool in
            try await MigrationRunner(pool: pool).up(.memoryPlugin)
            let store = MemoryStore(pool: pool, statistics: StatisticsRefresh(pool: pool, threshold: 500, delay: .milliseconds(200)))
            let limits = ContractLimits(embeddingDimensions: nil)
            func lastAnalyze() async throws -> String? {
                try await pool.query("SELECT last_analyze::text FROM pg_stat_user_tables WHERE schemaname = 'memory_plugin' AND relname = 'memory_records'")[0].decode(String?.self, at: 0)
            }
            let small = (0..<100).map { BatchItem(namespace: "workspace:s", write: MemoryWrite(content: "small \($0)", kind: .fact, source: .agent)) }
            _ = try await store.batch(small, limits: limits)
            try await Task.sleep(for: .milliseconds(600))
            #expect(try await lastAnalyze() == nil, "100 rows are below the threshold")

            let bulk = (0..<600).map { BatchItem(namespace: "workspace:b", write: MemoryWrite(content: "bulk \($0)", kind: .fact, source: .agent)) }
            _ = try await store.batch(bulk, limits: limits)
            var analyzed: String?
            for _ in 0..<100 where analyzed == nil {
                try await Task.sleep(for: .milliseconds(100))
                analyzed = try await lastAnalyze()
            }
            #expect(analyzed != nil, "700 rows from bulk writes did not lead to an ANALYZE")
        }
    }
}
