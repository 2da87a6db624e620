import Foundation
import MemoryContract
@testable import MemoryPlugin
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
            let ids = (0..<1000).map { _ in UUID().uuidString.lowercased() }
            var items = ids.enumerated().map { index, id in
                BatchItem(namespace: "workspace:w\(index % 3)", write: fact("legacy memory \(index)", id: id, createdAt: then))
            }
            items.append(BatchItem(namespace: "workspace:w0", write: MemoryWrite(content: "  ", kind: .fact, source: .agent)))
            items.append(BatchItem(namespace: "workspace:kv", write: MemoryWrite(content: "{}", kind: .kv, source: .agent, key: "prefs")))
            let first = try await store.batch(items, limits: limits)
            #expect(first.count == 1002)
            #expect(first[0..<1000].allSatisfy { $0.status == .created })
            #expect(first.map(\.index) == Array(0..<1002))
            #expect(first[1000].status == .error && first[1000].error?.message == "content is empty")
            #expect(first[1001].status == .created && first[1001].version == 1)

            let again = try await store.batch(Array(items[0..<1000]), limits: limits)
            #expect(again.allSatisfy { $0.status == .unchanged }, "\(again.filter { $0.status != .unchanged }.prefix(3))")
            #expect(try await pool.query("SELECT count(*) FROM memory_plugin.memory_records WHERE kind = 'fact'")[0].decode(Int.self, at: 0) == 1000)
            let kept = try await pool.query("SELECT count(*) FROM memory_plugin.memory_records WHERE created_at = $1", [then])
            #expect(try kept[0].decode(Int.self, at: 0) == 1000)

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

extension BatchTests {
    /// The batch's facts and kv imports run as set statements; every case the per-item
    /// statements tell apart must come out the same.
    @Test func setStatementsReportEveryOutcomeAsOneByOneWritesWould() async throws {
        try await withStore { store, pool in
            let then = Timestamp(rfc3339: "2021-05-06T07:08:09.123456Z")!
            let later = Timestamp(rfc3339: "2021-05-06T07:08:10.000001Z")!
            let kept = "10000000-0000-4000-8000-000000000001", edited = "10000000-0000-4000-8000-000000000002"
            let elsewhere = "10000000-0000-4000-8000-000000000003", twice = "10000000-0000-4000-8000-000000000004"
            let fresh = "10000000-0000-4000-8000-000000000005", retimed = "10000000-0000-4000-8000-000000000006"
            _ = try await store.batch([
                BatchItem(namespace: "workspace:a", write: fact("kept", id: kept, createdAt: then)),
                BatchItem(namespace: "workspace:a", write: fact("before", id: edited, createdAt: then)),
                BatchItem(namespace: "workspace:b", write: fact("lives in b", id: elsewhere, createdAt: then)),
                BatchItem(namespace: "workspace:a", write: fact("time", id: retimed, createdAt: then)),
            ], limits: limits)
            let live = try await store.commit("workspace:kv", MemoryWrite(content: "{}", kind: .kv, source: .agent, key: "live"))
            _ = try await store.upsertNamespace("workspace:gone", NamespaceUpsert(kind: .workspace))
            _ = try await store.patchNamespace("workspace:gone", NamespacePatch(expiresAt: .value(seconds(-1))))
            func entry(_ key: String, _ version: Int64, _ namespace: String = "workspace:kv") -> BatchItem {
                BatchItem(namespace: namespace, write: MemoryWrite(content: "{\"v\": \(version)}", kind: .kv, source: .agent, createdAt: then, key: key, version: version))
            }
            _ = try await store.batch([entry("newer", 7)], limits: limits)

            let results = try await store.batch([
                BatchItem(namespace: "workspace:a", write: fact("kept", id: kept, createdAt: then)),
                BatchItem(namespace: "workspace:a", write: fact("after", id: edited, createdAt: then)),
                BatchItem(namespace: "workspace:a", write: fact("moved?", id: elsewhere, createdAt: then)),
                BatchItem(namespace: "workspace:gone", write: fact("too late", createdAt: then)),
                BatchItem(namespace: "workspace:kv", write: fact("a kv entry's id", id: live.id, createdAt: then)),
                BatchItem(namespace: "workspace:new", write: fact("no id, no time")),
                BatchItem(namespace: "workspace:a", write: fact("one", id: twice, createdAt: then)),
                BatchItem(namespace: "workspace:a", write: fact("two", id: twice, createdAt: then)),
                BatchItem(namespace: "workspace:a", write: fact("new", id: fresh, createdAt: then)),
                BatchItem(namespace: "workspace:a", write: fact("time", id: retimed, createdAt: later)),
                entry("imported", 2),
                entry("live", 5),
                entry("newer", 3),
                entry("newer", 7, "workspace:gone"),
            ], limits: limits)
            #expect(results.map(\.status) == [
                .unchanged, .updated, .error, .error, .error, .created, .created, .updated, .created, .updated,
                .created, .updated, .error, .error,
            ], "\(results)")
            #expect(results[0].id == kept && results[8].id == fresh)
            #expect(results[2].error?.status == 409 && results[2].id == elsewhere)
            #expect(results[3].error?.status == 404 && results[3].error?.message == "namespace workspace:gone has expired")
            #expect(results[4].error?.status == 409)
            #expect(results[5].id.map { (try? Validate.memoryID($0)) != nil } == true)
            #expect(results[10].version == 2 && results[11].version == 5 && results[11].id == live.id)
            #expect(results[12].error?.status == 409 && results[12].error?.details?["current_version"] == .number(7))
            #expect(results[13].error?.status == 404)

            let stored = try await pool.query("""
                SELECT id::text, namespace, content, created_at FROM memory_plugin.memory_records WHERE id = ANY($1::uuid[]) ORDER BY id
                """, [[edited, elsewhere, twice, retimed]])
            #expect(try stored.rows.map { try $0.decode(String.self, at: 2) } == ["after", "lives in b", "two", "time"])
            #expect(try stored.rows[1].decode(String.self, at: 1) == "workspace:b")
            #expect(try stored.rows[3].decode(Timestamp.self, at: 3) == later)
            #expect(try await pool.query("SELECT kind FROM memory_plugin.memory_namespaces WHERE name = 'workspace:new'")[0].decode(String.self, at: 0) == "workspace")
        }
    }

    /// A value the database refuses fails the whole set statement; the batch then runs
    /// item by item, so only that item fails.
    @Test func anItemTheDatabaseRefusesFailsAloneInsideASetStatement() async throws {
        try await withStore { store, pool in
            let then = Timestamp(rfc3339: "2021-05-06T07:08:09.123456Z")!
            var refused = fact("propagation jsonb cannot hold", createdAt: then)
            refused.propagation = ["note": .string("a \u{0} inside")]
            var refusedImport = MemoryWrite(content: "{}", kind: .kv, source: .agent, createdAt: then, key: "k", version: 1)
            refusedImport.propagation = ["note": .string("\u{0}")]
            let results = try await store.batch([
                BatchItem(namespace: "workspace:a", write: fact("fine", createdAt: then)),
                BatchItem(namespace: "workspace:a", write: refused),
                BatchItem(namespace: "workspace:a", write: fact("also fine", createdAt: then)),
                BatchItem(namespace: "workspace:a", write: refusedImport),
                BatchItem(namespace: "workspace:a", write: MemoryWrite(content: "{}", kind: .kv, source: .agent, createdAt: then, key: "ok", version: 1)),
            ], limits: limits)
            #expect(results.map(\.status) == [.created, .error, .created, .error, .created], "\(results)")
            #expect(results[1].error?.status == 400 && results[3].error?.status == 400)
            #expect(try await pool.query("SELECT count(*) FROM memory_plugin.memory_records")[0].decode(Int.self, at: 0) == 3)
        }
    }

    /// A batch's set statements run at the same time on separate connections. A fact and
    /// a kv import that claim the same id race each other: one is written, the other fails
    /// alone, and nothing else in the batch is lost or written twice.
    @Test func setStatementsRunningAtOnceNeitherLoseNorDuplicateRows() async throws {
        try await withStore { store, pool in
            let then = Timestamp(rfc3339: "2022-02-03T04:05:06.789012Z")!
            let shared = "40000000-0000-4000-8000-000000000001"
            var items = (0..<1200).map { index in
                BatchItem(namespace: "workspace:w\(index % 7)", write: fact("memory \(index)", id: UUID().uuidString.lowercased(), createdAt: then))
            }
            items[700] = BatchItem(namespace: "workspace:w0", write: fact("the fact", id: shared, createdAt: then))
            items += (0..<600).map { index in
                BatchItem(namespace: "workspace:kv\(index % 5)", write: MemoryWrite(
                    id: index == 300 ? shared : UUID().uuidString.lowercased(), content: "{\"n\": \(index)}", kind: .kv, source: .agent,
                    createdAt: then, key: "key-\(index)", version: 2))
            }
            let results = try await store.batch(items, limits: limits)
            #expect(results.map(\.index) == Array(0..<1800))
            // Each outcome belongs to its own item, whichever statement finished first.
            #expect(results.enumerated().allSatisfy { $0.offset == 1500 || $0.element.id == (try? items[$0.offset].write.get())?.id })
            let contested = [results[700], results[1200 + 300]]
            #expect(contested.map(\.status).sorted { $0.rawValue < $1.rawValue } == [.created, .error], "\(contested)")
            #expect(results.enumerated().allSatisfy { $0.offset == 700 || $0.offset == 1500 || $0.element.status == .created })
            #expect(try await pool.query("SELECT count(*) FROM memory_plugin.memory_records")[0].decode(Int.self, at: 0) == 1799)
            #expect(try await pool.query("SELECT count(*) FROM memory_plugin.memory_records WHERE id = $1", [shared])[0].decode(Int.self, at: 0) == 1)
            let again = try await store.batch(items, limits: limits)
            #expect(again.enumerated().allSatisfy { $0.offset == 700 || $0.offset == 1500 || $0.element.status == .unchanged })
            #expect(try await pool.query("SELECT count(*) FROM memory_plugin.memory_records")[0].decode(Int.self, at: 0) == 1799)
        }
    }

    @Test func thePlanSendsRepeatedIdsAndKeysAndWritesWithoutTimesOneByOne() {
        let then = Timestamp(rfc3339: "2021-05-06T07:08:09Z")!
        let id = "20000000-0000-4000-8000-000000000001"
        func kv(_ key: String, version: Int64?, createdAt: Timestamp? = then) -> MemoryWrite {
            MemoryWrite(content: "{}", kind: .kv, source: .agent, createdAt: createdAt, key: key, version: version)
        }
        let writes: [(String, MemoryWrite)] = [
            ("workspace:a", fact("no id, no time")),
            ("workspace:a", fact("id and time", id: "20000000-0000-4000-8000-000000000002", createdAt: then)),
            ("workspace:a", fact("id, no time", id: "20000000-0000-4000-8000-000000000003")),
            ("workspace:a", fact("first", id: id, createdAt: then)),
            ("workspace:a", fact("second", id: id.uppercased(), createdAt: then)),
            ("workspace:a", kv("once", version: 1)),
            ("workspace:a", kv("twice", version: 1)),
            ("workspace:a", kv("twice", version: 2)),
            ("workspace:b", kv("twice", version: 1)),
            ("workspace:a", kv("live", version: nil)),
            ("workspace:a", kv("untimed", version: 1, createdAt: nil)),
        ]
        let plan = BatchPlan(writes.enumerated().map { PlannedWrite(index: $0.offset, namespace: $0.element.0, write: $0.element.1) })
        #expect(plan.facts.map(\.index) == [0, 1])
        #expect(plan.pipelined.map(\.index) == [2, 3, 4])
        #expect(plan.imports.map(\.index) == [5, 8])
        #expect(plan.keyed.map(\.index) == [6, 7, 9, 10])
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

    @Test func singleCommitsThatDoubleTheTableAnalyzeItPromptly() async throws {
        try await withTestDatabase("growth") { database, pool in
            try await MigrationRunner(pool: pool).up(.memoryPlugin)
            // A slow pause-based delay, so only the growth rule can explain a prompt ANALYZE.
            let store = MemoryStore(pool: pool, statistics: StatisticsRefresh(
                pool: pool, threshold: 40, delay: .seconds(600), maxDelay: .seconds(600), growthDelay: .milliseconds(100)))
            func analyzeCount() async throws -> Int {
                try await pool.query("SELECT analyze_count::int FROM pg_stat_user_tables WHERE schemaname = 'memory_plugin' AND relname = 'memory_records'")[0]
                    .decode(Int.self, at: 0)
            }
            func awaitAnalyzeCount(_ wanted: Int) async throws -> Int {
                var count = try await analyzeCount()
                for _ in 0..<100 where count < wanted {
                    try await Task.sleep(for: .milliseconds(100))
                    count = try await analyzeCount()
                }
                return count
            }
            for index in 0..<30 { _ = try await store.commit("workspace:g", fact("early \(index)")) }
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await analyzeCount() == 0, "30 commits are below the threshold")
            for index in 0..<15 { _ = try await store.commit("workspace:g", fact("more \(index)")) }
            #expect(try await awaitAnalyzeCount(1) == 1, "45 commits into an empty table did not lead to an ANALYZE")
            // The table now holds 45 rows: the next ANALYZE waits for 45 more commits. Up to 5
            // of the first 45 may count towards it (on a busy machine they can land after the
            // ANALYZE was set off, which happens at the 40th), so 30 stay safely below.
            for index in 0..<30 { _ = try await store.commit("workspace:g", fact("later \(index)")) }
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await analyzeCount() == 1, "30 commits do not double a table of 45")
            for index in 0..<20 { _ = try await store.commit("workspace:g", fact("last \(index)")) }
            #expect(try await awaitAnalyzeCount(2) == 2)
        }
    }
}
