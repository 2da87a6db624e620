import Foundation
import MemoryContract
import MemoryPlugin
import Migrations
import Postgres
import TestSupport
import Testing

/// A migrated database with a store, dropped afterwards. Tests that run dozens of commits
/// at once queue for the 8 connections; with the whole suite running, that queue once took
/// longer than the pool's default 5 s wait (a 503 instead of the outcome under test).
func withStore<T>(_ body: (MemoryStore, PostgresPool) async throws -> T) async throws -> T {
    try await withTestDatabase("store", maxConnections: 8, acquireTimeout: .seconds(60)) { _, pool in
        try await MigrationRunner(pool: pool).up(.memoryPlugin)
        return try await body(MemoryStore(pool: pool), pool)
    }
}

func fact(_ content: String, id: String? = nil, pin: Bool? = nil, expiresAt: Timestamp? = nil, createdAt: Timestamp? = nil) -> MemoryWrite {
    MemoryWrite(id: id, content: content, kind: .fact, source: .agent, expiresAt: expiresAt, pin: pin, createdAt: createdAt)
}

func seconds(_ offset: Int64) -> Timestamp { Timestamp(microseconds: Timestamp.now().microseconds + offset * 1_000_000) }

@Suite("Memory store")
struct MemoryStoreTests {
    @Test func commitIntoAnUnknownNamespaceCreatesItWithTheKindOfItsPrefix() async throws {
        try await withStore { store, pool in
            let written = try await store.commit("team:alpha", fact("first memory"))
            #expect(written.namespace == "team:alpha")
            let kind = try await pool.query("SELECT kind FROM memory_plugin.memory_namespaces WHERE name = 'team:alpha'")
            #expect(try kind[0].decode(String.self, at: 0) == "team")
        }
    }

    @Test func aCommitNeverChangesAnExistingNamespacesTTLOrMetadata() async throws {
        try await withStore { store, _ in
            let expiry = seconds(3600)
            _ = try await store.upsertNamespace("workspace:w1", NamespaceUpsert(kind: .workspace, expiresAt: expiry, metadata: ["owner": .string("me")]))
            _ = try await store.commit("workspace:w1", fact("x"))
            let patched = try await store.patchNamespace("workspace:w1", NamespacePatch(metadata: .value(["owner": .string("me")])))
            #expect(patched.expiresAt == expiry)
            #expect(patched.metadata == ["owner": .string("me")])
        }
    }

    /// A commit into a namespace this process has seen takes the short insert; a namespace
    /// deleted or expired behind its back (by another plugin process) must not fool it.
    @Test func aNamespaceDeletedOrExpiredElsewhereIsRecreatedOrRefused() async throws {
        try await withStore { store, pool in
            _ = try await store.commit("team:moving", fact("first"))
            _ = try await store.commit("team:moving", fact("second, by the short insert"))
            try await pool.query("DELETE FROM memory_plugin.memory_namespaces WHERE name = 'team:moving'")
            let third = try await store.commit("team:moving", fact("third, after the delete"))
            #expect(third.namespace == "team:moving")
            let kind = try await pool.query("SELECT kind FROM memory_plugin.memory_namespaces WHERE name = 'team:moving'")
            #expect(try kind[0].decode(String.self, at: 0) == "team")
            #expect(try await store.search(SearchRequest(namespaces: ["team:moving"])).map(\.content) == ["third, after the delete"])
            try await pool.query("UPDATE memory_plugin.memory_namespaces SET expires_at = now() - interval '1 second' WHERE name = 'team:moving'")
            let refused = await #expect(throws: ContractError.self) { try await store.commit("team:moving", fact("late")) }
            #expect(refused?.status == 404)
            #expect(try await pool.query("SELECT count(*) FROM memory_plugin.memory_records")[0].decode(Int.self, at: 0) == 1)
        }
    }

    @Test func aSuppliedIdIsAnIdempotentUpsertInsideItsNamespaceAndAConflictElsewhere() async throws {
        try await withStore { store, pool in
            let id = UUID().uuidString
            _ = try await store.commit("workspace:a", fact("version one", id: id))
            let again = try await store.commit("workspace:a", fact("version two", id: id))
            #expect(again.id == id.lowercased())
            let rows = try await pool.query("SELECT content FROM memory_plugin.memory_records")
            #expect(rows.count == 1)
            #expect(try rows[0].decode(String.self, at: 0) == "version two")
            let conflict = await #expect(throws: ContractError.self) { try await store.commit("workspace:b", fact("moved?", id: id)) }
            #expect(conflict?.status == 409)
            #expect(try await pool.query("SELECT namespace FROM memory_plugin.memory_records")[0].decode(String.self, at: 0) == "workspace:a")
        }
    }

    /// Our client gives every fact an id (so that it can be sent again after a stale
    /// connection); into a namespace the plugin knows, such a commit takes the short insert
    /// and must keep every rule of a supplied id, also when concurrent commits share one
    /// multi-row insert and one of them collides.
    @Test func suppliedIdsIntoAKnownNamespaceKeepTheUpsertRulesAlsoInsideACoalescedBatch() async throws {
        try await withStore { store, pool in
            _ = try await store.commit("workspace:a", fact("makes workspace:a known"))
            _ = try await store.commit("workspace:b", fact("makes workspace:b known"))
            let id = UUID().uuidString
            #expect(try await store.commit("workspace:a", fact("once", id: id)).id == id.lowercased())
            #expect(try await store.commit("workspace:a", fact("once", id: id)).id == id.lowercased())
            let conflict = await #expect(throws: ContractError.self) { try await store.commit("workspace:b", fact("moved?", id: id)) }
            #expect(conflict?.status == 409)
            _ = try await store.commit("workspace:a", fact("changed", id: id))
            let stored = try await pool.query("SELECT namespace, content FROM memory_plugin.memory_records WHERE id = $1::uuid", [id])
            #expect(try stored[0].decode(String.self, at: 0) == "workspace:a" && stored[0].decode(String.self, at: 1) == "changed")

            // Forty at once, each id sent twice, plus one into the other namespace's id.
            let ids = (0..<20).map { _ in UUID().uuidString.lowercased() }
            let outcomes = await withTaskGroup(of: (String, Int).self) { group in
                for (position, memoryID) in (ids + ids).enumerated() {
                    group.addTask {
                        do { return (try await store.commit("workspace:a", fact("batch \(memoryID)", id: memoryID)).id, 201) }
                        catch { return (memoryID, (error as? ContractError)?.status ?? 0) }
                    }
                    if position == 10 {
                        group.addTask {
                            do { return (try await store.commit("workspace:b", fact("collides", id: id)).id, 201) }
                            catch { return (id.lowercased(), (error as? ContractError)?.status ?? 0) }
                        }
                    }
                }
                return await group.reduce(into: [(String, Int)]()) { $0.append($1) }
            }
            #expect(outcomes.count == 41)
            #expect(outcomes.filter { $0.1 == 409 }.map(\.0) == [id.lowercased()])
            #expect(Set(outcomes.filter { $0.1 == 201 }.map(\.0)) == Set(ids))
            let counted = try await pool.query("SELECT count(*) FROM memory_plugin.memory_records WHERE id = ANY($1::uuid[])", [ids])
            #expect(try counted[0].decode(Int.self, at: 0) == 20)
            #expect(try await pool.query("SELECT count(*) FROM memory_plugin.memory_records")[0].decode(Int.self, at: 0) == 23)
        }
    }

    @Test func createdAtIsKeptToTheMicrosecond() async throws {
        try await withStore { store, _ in
            let then = Timestamp(rfc3339: "2023-05-06T07:08:09.123456Z")!
            _ = try await store.commit("workspace:a", fact("old memory", createdAt: then))
            let found = try await store.search(SearchRequest(namespaces: ["workspace:a"]))
            #expect(found.first?.createdAt == then)
        }
    }

    @Test func searchOrderingIsPinnedThenScoreThenNewestThenId() async throws {
        try await withStore { store, _ in
            _ = try await store.commit("workspace:a", fact("the deploy failed on tuesday", createdAt: seconds(-30)))
            _ = try await store.commit("workspace:a", fact("deploy deploy deploy notes", createdAt: seconds(-20)))
            _ = try await store.commit("workspace:a", fact("pinned: deploy checklist", pin: true, createdAt: seconds(-40)))
            _ = try await store.commit("workspace:a", fact("unrelated gardening", createdAt: seconds(-10)))
            let hits = try await store.search(SearchRequest(namespaces: ["workspace:a"], query: "deploy"))
            #expect(hits.map(\.content) == ["pinned: deploy checklist", "deploy deploy deploy notes", "the deploy failed on tuesday"])
            #expect(hits.allSatisfy { $0.score != nil })
            let listing = try await store.search(SearchRequest(namespaces: ["workspace:a"]))
            #expect(listing.map(\.content) == ["pinned: deploy checklist", "unrelated gardening", "deploy deploy deploy notes", "the deploy failed on tuesday"])
            #expect(try await store.search(SearchRequest(namespaces: ["workspace:a"], query: "nothing matches this")) == [])
            #expect(try await store.search(SearchRequest(namespaces: ["workspace:none"])) == [])
        }
    }

    @Test func oneCharacterSearchIsASubstringMatchWithWildcardsEscaped() async throws {
        try await withStore { store, _ in
            _ = try await store.commit("workspace:a", fact("100% sure"))
            _ = try await store.commit("workspace:a", fact("snake_case name"))
            _ = try await store.commit("workspace:a", fact("plain words"))
            #expect(try await store.search(SearchRequest(namespaces: ["workspace:a"], query: "%")).map(\.content) == ["100% sure"])
            #expect(try await store.search(SearchRequest(namespaces: ["workspace:a"], query: "_")).map(\.content) == ["snake_case name"])
        }
    }

    @Test func expiredMemoriesAndNamespacesAreNeverReturnedOrWrittenAndTheJanitorDeletesThem() async throws {
        try await withStore { store, pool in
            _ = try await store.commit("workspace:a", fact("gone", expiresAt: seconds(-1)))
            _ = try await store.commit("workspace:a", fact("alive"))
            _ = try await store.upsertNamespace("workspace:old", NamespaceUpsert(kind: .workspace))
            _ = try await store.commit("workspace:old", fact("in an expiring namespace"))
            _ = try await store.patchNamespace("workspace:old", NamespacePatch(expiresAt: .value(seconds(-1))))
            #expect(try await store.search(SearchRequest(namespaces: ["workspace:a", "workspace:old"])).map(\.content) == ["alive"])
            let refused = await #expect(throws: ContractError.self) { try await store.commit("workspace:old", fact("late")) }
            #expect(refused?.status == 404)
            let deleted = try await store.deleteExpired(batchSize: 1)
            // The expired memory and the expired namespace; the namespace's memories go with it.
            #expect(deleted == 2)
            #expect(try await pool.query("SELECT count(*) FROM memory_plugin.memory_records")[0].decode(Int.self, at: 0) == 1)
            #expect(try await pool.query("SELECT count(*) FROM memory_plugin.memory_namespaces WHERE name = 'workspace:old'")[0].decode(Int.self, at: 0) == 0)
        }
    }

    @Test func patchWithExplicitNullClearsAndAbsentKeeps() async throws {
        try await withStore { store, _ in
            _ = try await store.upsertNamespace("org:o", NamespaceUpsert(kind: .org, expiresAt: seconds(3600), metadata: ["k": .string("v")]))
            let cleared = try await store.patchNamespace("org:o", NamespacePatch(expiresAt: .null))
            #expect(cleared.expiresAt == nil)
            #expect(cleared.metadata == ["k": .string("v")])
            let missing = await #expect(throws: ContractError.self) { try await store.patchNamespace("org:none", NamespacePatch(expiresAt: .null)) }
            #expect(missing?.status == 404)
        }
    }

    @Test func keyValueEntriesAreVersionedWithOptimisticConcurrency() async throws {
        try await withStore { store, _ in
            func kv(_ value: String, ifMatch: Int64? = nil) -> MemoryWrite {
                MemoryWrite(content: value, kind: .kv, source: .agent, key: "plan", ifMatchVersion: ifMatch)
            }
            let created = try await store.commit("workspace:a", kv("v1", ifMatch: 0))
            #expect(created.version == 1)
            let createAgain = await #expect(throws: ContractError.self) { try await store.commit("workspace:a", kv("again", ifMatch: 0)) }
            #expect(createAgain?.status == 409)
            #expect(createAgain?.details?["current_version"] == .number(1))
            #expect(try await store.commit("workspace:a", kv("v2")).version == 2)
            let stale = await #expect(throws: ContractError.self) { try await store.commit("workspace:a", kv("stale", ifMatch: 1)) }
            #expect(stale?.details?["current_version"] == .number(2))
            let replaced = try await store.commit("workspace:a", kv("v3", ifMatch: 2))
            #expect(replaced.version == 3)
            #expect(replaced.id == created.id)
            // K/V entries stay out of plain recall; asked for by kind they carry key and version.
            #expect(try await store.search(SearchRequest(namespaces: ["workspace:a"])) == [])
            let entries = try await store.search(SearchRequest(namespaces: ["workspace:a"], kinds: [.kv]))
            #expect(entries.map(\.content) == ["v3"])
            #expect(entries.first?.key == "plan")
            #expect(entries.first?.version == 3)
        }
    }

    @Test func cursorListingPagesThroughEveryMemoryOldestFirst() async throws {
        try await withStore { store, _ in
            for index in 0..<25 {
                _ = try await store.commit("workspace:a", fact("memory \(index)", createdAt: Timestamp(microseconds: 1_700_000_000_000_000 + Int64(index))))
            }
            var cursor: String?
            var seen: [String] = []
            repeat {
                let page = try await store.page("workspace:a", after: cursor, limit: 10)
                seen += page.memories.map(\.content)
                cursor = page.nextCursor
            } while cursor != nil
            #expect(seen == (0..<25).map { "memory \($0)" })
            await #expect(throws: ContractError.self) { try await store.page("workspace:a", after: "garbage", limit: 10) }
        }
    }

    @Test func forgetDeletesOnlyFromTheRequestingNamespace() async throws {
        try await withStore { store, _ in
            let written = try await store.commit("workspace:a", fact("secret plan"))
            let other = await #expect(throws: ContractError.self) { try await store.forget(id: written.id, requestedBy: "workspace:b") }
            #expect(other?.status == 404)
            try await store.forget(id: written.id, requestedBy: "workspace:a")
            #expect(try await store.search(SearchRequest(namespaces: ["workspace:a"])) == [])
        }
    }

    /// Concurrent commits leave in shared batches; each must still get its own outcome.
    @Test func parallelCommitsWithMixedOutcomesEachGetTheirOwn() async throws {
        try await withStore { store, pool in
            let taken = UUID().uuidString.lowercased()
            _ = try await store.commit("workspace:owner", fact("owned elsewhere", id: taken))
            _ = try await store.commit("workspace:closed", fact("before it expired"))
            _ = try await store.commit("workspace:open", fact("warm up"))
            try await pool.query("UPDATE memory_plugin.memory_namespaces SET expires_at = now() - interval '1 second' WHERE name = 'workspace:closed'")
            let outcomes = await withTaskGroup(of: (Int, Int).self) { group in
                for index in 0..<90 {
                    group.addTask {
                        do {
                            switch index % 3 {
                            case 0: _ = try await store.commit("workspace:open", fact("fine \(index)"))
                            case 1: _ = try await store.commit("workspace:other", fact("taken \(index)", id: taken))
                            default: _ = try await store.commit("workspace:closed", fact("late \(index)"))
                            }
                            return (index, 201)
                        } catch let error as ContractError {
                            return (index, error.status)
                        } catch {
                            return (index, 500)
                        }
                    }
                }
                return await group.reduce(into: [Int: Int]()) { $0[$1.0] = $1.1 }
            }
            for index in 0..<90 {
                #expect(outcomes[index] == [201, 409, 404][index % 3], "commit \(index)")
            }
            let open = try await pool.query("SELECT count(*) FROM memory_plugin.memory_records WHERE namespace = 'workspace:open'")
            #expect(try open[0].decode(Int.self, at: 0) == 31)
        }
    }

    @Test func aHundredParallelWritesGiveAHundredReadableMemories() async throws {
        try await withStore { store, _ in
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<100 { group.addTask { try await store.commit("workspace:p", fact("parallel \(index)")).id } }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(ids.count == 100)
            let page = try await store.page("workspace:p", after: nil, limit: 1000)
            #expect(Set(page.memories.map(\.id)) == ids)
        }
    }

    @Test func anUnreachableDatabaseIsUnavailableAndRecovers() async throws {
        let server = try EphemeralPostgres.start()
        defer { server.destroy() }
        let pool = PostgresPool(.init(conninfo: server.url, maxConnections: 2))
        try await MigrationRunner(pool: pool).up(.memoryPlugin)
        let store = MemoryStore(pool: pool)
        _ = try await store.commit("workspace:a", fact("before"))
        try server.stopServer()
        let down = await #expect(throws: ContractError.self) { try await store.search(SearchRequest(namespaces: ["workspace:a"])) }
        #expect(down?.status == 503)
        #expect(down?.code == .unavailable)
        #expect(await store.isHealthy() == false)
        try server.startServer()
        #expect(try await store.search(SearchRequest(namespaces: ["workspace:a"])).map(\.content) == ["before"])
        await pool.shutdown()
    }
}
