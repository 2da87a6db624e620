import Foundation
import MemoryContract
@testable import MemoryPlugin
import Postgres
import TestSupport
import Testing

/// The coalescer's batches turned into statements: new facts share one multi-row insert,
/// and each commit still gets exactly its own outcome.
@Suite("Commit batches")
struct CommitBatchesTests {
    @Test func newFactsShareOneInsertAndEachGetsItsOwnOutcome() async throws {
        try await withStore { store, pool in
            _ = try await store.commit("workspace:a", fact("a exists"))
            _ = try await store.commit("workspace:closed", fact("closed exists"))
            try await pool.query("UPDATE memory_plugin.memory_namespaces SET expires_at = now() - interval '1 second' WHERE name = 'workspace:closed'")
            let facts = [
                CommitBatches.FreshFact("workspace:a", fact("one")),
                CommitBatches.FreshFact("workspace:closed", fact("refused")),
                CommitBatches.FreshFact("workspace:a", fact("two")),
            ]
            let outcomes = await store.batches.execute([
                .fresh(facts[0]), .fresh(facts[1]), .statement(.init("SELECT 7 AS seven")), .fresh(facts[2]),
            ])
            #expect(inserted(outcomes[0]) == true)
            #expect(inserted(outcomes[1]) == false)
            guard case .success(.rows(let rows)) = outcomes[2] else { Issue.record("\(outcomes[2])"); return }
            #expect(try rows[0].decode(Int.self, at: 0) == 7)
            #expect(inserted(outcomes[3]) == true)
            // In arrival order, each with a creation time of its own.
            let stored = try await pool.query(
                "SELECT id::text, content FROM memory_plugin.memory_records WHERE namespace = 'workspace:a' AND content <> 'a exists' ORDER BY created_at"
            ).rows.map { (try $0.decode(String.self, at: 0), try $0.decode(String.self, at: 1)) }
            #expect(stored.map(\.0) == [facts[0].id, facts[2].id])
            #expect(stored.map(\.1) == ["one", "two"])
            #expect(try await pool.query("SELECT count(*) FROM memory_plugin.memory_records WHERE content = 'refused'")[0].decode(Int.self, at: 0) == 0)
        }
    }

    @Test func aNamespaceDeletedMeanwhileFailsOnlyItsOwnFacts() async throws {
        try await withStore { store, pool in
            _ = try await store.commit("workspace:kept", fact("kept exists"))
            _ = try await store.commit("workspace:gone", fact("gone exists"))
            try await pool.query("DELETE FROM memory_plugin.memory_namespaces WHERE name = 'workspace:gone'")
            let jobs: [CommitBatches.CommitJob] = (0..<6).map { index in
                .fresh(CommitBatches.FreshFact(index % 3 == 1 ? "workspace:gone" : "workspace:kept", fact("fact \(index)")))
            }
            let outcomes = await store.batches.execute(jobs)
            for (index, outcome) in outcomes.enumerated() {
                if index % 3 == 1 {
                    guard case .failure(let error) = outcome else { Issue.record("fact \(index): \(outcome)"); continue }
                    #expect(error.sqlState == .foreignKeyViolation)
                } else {
                    #expect(inserted(outcome) == true, "fact \(index)")
                }
            }
            #expect(try await pool.query("SELECT count(*) FROM memory_plugin.memory_records WHERE namespace = 'workspace:kept'")[0].decode(Int.self, at: 0) == 5)
        }
    }

    /// Through the store: the commit whose namespace vanished recreates it, the others land.
    @Test func parallelCommitsIntoADeletedNamespaceRecreateIt() async throws {
        try await withStore { store, pool in
            _ = try await store.commit("team:kept", fact("kept exists"))
            _ = try await store.commit("team:gone", fact("gone exists"))
            try await pool.query("DELETE FROM memory_plugin.memory_namespaces WHERE name = 'team:gone'")
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<60 {
                    group.addTask { _ = try await store.commit(index % 2 == 0 ? "team:kept" : "team:gone", fact("parallel \(index)")) }
                }
                try await group.waitForAll()
            }
            let counts = try await pool.query("SELECT namespace, count(*)::int FROM memory_plugin.memory_records GROUP BY namespace ORDER BY namespace")
                .rows.map { "\(try $0.decode(String.self, at: 0))=\(try $0.decode(Int.self, at: 1))" }
            #expect(counts == ["team:gone=30", "team:kept=31"])
        }
    }

    private func inserted(_ outcome: CommitBatches.CommitResult) -> Bool? {
        if case .success(.inserted(let value)) = outcome { return value }
        Issue.record("not an insert outcome: \(outcome)")
        return nil
    }
}
