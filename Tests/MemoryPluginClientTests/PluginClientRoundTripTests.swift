import Foundation
import MemoryContract
import MemoryPluginClient
import TestSupport
import Testing
import Timestamps

@Suite("Memory plugin client against a real plugin")
struct PluginClientRoundTripTests {
    @Test func everyRouteRoundTripsThroughTheClient() async throws {
        let database = try await TestPostgres.createDatabase("client")
        defer { database.drop() }
        let plugin = try await RunningPlugin(databaseURL: database.url)
        defer { stopInBackground(plugin) }
        let client = try makeClient(port: plugin.port)
        defer { Task { await client.shutdown() } }

        let health = try await client.health()
        #expect(health.status == "ok")
        #expect(health.capabilities.contains("kv"))

        let created = try await client.upsertNamespace("team:t1", NamespaceUpsert(kind: .team, metadata: ["owner": .string("ann")]))
        #expect(created.name == "team:t1" && created.kind == .team && created.metadata?["owner"] == .string("ann"))
        let expiry = Timestamp(microseconds: (Timestamp.now().microseconds / 1_000_000 + 86_400) * 1_000_000)
        let patched = try await client.patchNamespace("team:t1", NamespacePatch(expiresAt: .value(expiry), metadata: .null))
        #expect(patched.expiresAt == expiry)
        #expect(patched.metadata == nil)

        let fixedID = "6f1c1f7e-3b8c-4d47-9a5e-2c0b7d9f1e22"
        let first = try await client.commit(namespace: "team:t1", write: MemoryWrite(id: fixedID, content: "the release ships friday", kind: .fact, source: .agent))
        #expect(first.id == fixedID && first.namespace == "team:t1")
        let second = try await client.commit(namespace: "team:t1", write: MemoryWrite(content: "standup moved to ten", kind: .fact, source: .user, pin: true))
        let third = try await client.commit(namespace: "team:t1", write: MemoryWrite(content: "theme=dark", kind: .kv, source: .runtime, key: "theme"))
        #expect(third.version == 1)
        // A commit into a namespace nobody created creates it.
        let elsewhere = try await client.commit(namespace: "workspace:w-1", write: MemoryWrite(content: "private note", kind: .summary, source: .agent))

        let found = try await client.search(SearchRequest(namespaces: ["team:t1"], query: "release"))
        #expect(found.map(\.id) == [fixedID])
        let listed = try await client.search(SearchRequest(namespaces: ["team:t1", "workspace:w-1"]))
        #expect(listed.first?.id == second.id, "pinned first")
        #expect(Set(listed.map(\.id)) == [fixedID, second.id, elsewhere.id], "k/v only when asked for by kind")
        #expect(try await client.search(SearchRequest(namespaces: ["team:t1"], kinds: [.kv])).map(\.key) == ["theme"])
        #expect(try await client.search(SearchRequest(namespaces: ["workspace:nothing-here"])) == [])

        var pages: [MemoryPage] = []
        var cursor: String?
        repeat {
            let page = try await client.page(namespace: "team:t1", after: cursor, limit: 2)
            pages.append(page)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(pages.flatMap(\.memories).map(\.id) == [fixedID, second.id, third.id], "oldest first, across pages")
        #expect(pages.count == 2)

        try await client.forget(id: second.id, requestedBy: "team:t1")
        #expect(try await client.page(namespace: "team:t1", limit: 10).memories.map(\.id) == [fixedID, third.id])

        // One item that does not decode fails alone, on our side; the others are written.
        let decodedItems = try JSONDecoder().decode([BatchItem].self, from: Data("""
            [{"namespace":"workspace:w-2","content":"a","kind":"fact","source":"agent","id":"0b7d9f1e-2c0b-4d47-9a5e-3b8c6f1c1f7e"},
             {"namespace":"workspace:w-2","content":"b","kind":"opinion","source":"agent"},
             {"namespace":"workspace:w-2","content":" ","kind":"fact","source":"agent"},
             {"namespace":"workspace:w-2","content":"c","kind":"fact","source":"agent"}]
            """.utf8))
        let results = try await client.batch(decodedItems)
        #expect(results.map(\.index) == [0, 1, 2, 3])
        #expect(results.map(\.status) == [.created, .error, .error, .created])
        #expect(results[0].id == "0b7d9f1e-2c0b-4d47-9a5e-3b8c6f1c1f7e")
        #expect(results[1].error?.message.contains("kind") == true)
        #expect(results[2].error?.code == .badRequest)
        let again = try await client.batch([BatchItem(namespace: "workspace:w-2", write: MemoryWrite(
            id: "0b7d9f1e-2c0b-4d47-9a5e-3b8c6f1c1f7e", content: "a", kind: .fact, source: .agent))])
        #expect(again.map(\.status) == [.unchanged])
        #expect(try await client.batch([]) == [])

        try await client.deleteNamespace("team:t1")
        #expect(try await client.search(SearchRequest(namespaces: ["team:t1"])) == [])
        #expect(client.breaker.state == .closed)
    }

    @Test func aFourHundredComesBackAsRejectedWithTheContractCode() async throws {
        let database = try await TestPostgres.createDatabase("client")
        defer { database.drop() }
        let plugin = try await RunningPlugin(databaseURL: database.url)
        defer { stopInBackground(plugin) }
        let client = try makeClient(port: plugin.port, threshold: 2)
        defer { Task { await client.shutdown() } }

        let (blank, _) = await timed { try await client.commit(namespace: "workspace:a", write: MemoryWrite(content: "  ", kind: .fact, source: .agent)) }
        #expect(blank?.rejection?.code == "bad_request" && blank?.rejection?.status == 400, "\(String(describing: blank))")
        if case .rejected(let error)? = blank { #expect(error.message == "content is empty") }

        let id = "3b8c6f1c-1f7e-4d47-9a5e-2c0b7d9f1e22"
        _ = try await client.commit(namespace: "workspace:a", write: MemoryWrite(id: id, content: "x", kind: .fact, source: .agent))
        let (moved, _) = await timed { try await client.commit(namespace: "workspace:b", write: MemoryWrite(id: id, content: "x", kind: .fact, source: .agent)) }
        #expect(moved?.rejection?.status == 409)

        let (missing, _) = await timed { try await client.forget(id: "00000000-0000-4000-8000-000000000000", requestedBy: "workspace:a") }
        #expect(missing?.rejection?.code == "not_found" && missing?.rejection?.status == 404)

        let (emptyPatch, _) = await timed { try await client.patchNamespace("workspace:a", NamespacePatch()) }
        #expect(emptyPatch?.rejection?.code == "bad_request")

        let (badLimit, _) = await timed { try await client.page(namespace: "workspace:a", limit: 0) }
        #expect(badLimit?.rejection?.status == 400)

        // Reserved characters are escaped, so a name can never reach another route.
        for name in ["Bad Name", "workspace:a/../../v1/health", "workspace:a?limit=5", "workspace:a#x", "..", "workspace:%41"] {
            let (error, _) = await timed { try await client.commit(namespace: name, write: MemoryWrite(content: "x", kind: .fact, source: .agent)) }
            #expect(error?.rejection.map { (400...404).contains($0.status) } == true, "\(name): \(String(describing: error))")
        }

        // The plugin answered every time: refusals never open the breaker.
        #expect(client.breaker.state == .closed)
        #expect(client.breaker.snapshot.consecutiveFailures == 0)
        #expect(try await client.page(namespace: "workspace:a").memories.map(\.id) == [id])
    }

    @Test func twoHundredConcurrentCommitsThroughASmallPoolAllSucceedWithDistinctIds() async throws {
        let database = try await TestPostgres.createDatabase("client")
        defer { database.drop() }
        let plugin = try await RunningPlugin(databaseURL: database.url)
        defer { stopInBackground(plugin) }
        // Generous timeout: the wait for one of four connections counts toward it, and a
        // debug-build plugin on a machine busy with the rest of the suite is slow (20 s
        // was once too little).
        let client = try makeClient(port: plugin.port, timeout: .seconds(60), maxConnections: 4)
        defer { Task { await client.shutdown() } }

        let ids = try await withThrowingTaskGroup(of: String.self) { group in
            for index in 0..<200 {
                group.addTask {
                    try await client.commit(namespace: "workspace:load", write: MemoryWrite(content: "memory \(index)", kind: .fact, source: .agent)).id
                }
            }
            var ids: [String] = []
            for try await id in group { ids.append(id) }
            return ids
        }
        #expect(ids.count == 200)
        #expect(Set(ids).count == 200)
        let statistics = client.poolStatistics
        #expect(statistics.dialled <= 4, "\(statistics)")
        #expect(statistics.open <= 4 && statistics.waiting == 0)
        var total = 0
        var cursor: String?
        repeat {
            let page = try await client.page(namespace: "workspace:load", after: cursor, limit: 1000)
            total += page.memories.count
            cursor = page.nextCursor
        } while cursor != nil
        #expect(total == 200)
    }

    @Test func idleConnectionsAreReusedAndOneTheServerClosedIsRedialled() async throws {
        let database = try await TestPostgres.createDatabase("client")
        defer { database.drop() }
        let plugin = try await RunningPlugin(databaseURL: database.url)
        let client = try makeClient(port: plugin.port)
        defer { Task { await client.shutdown() } }

        for _ in 0..<20 { _ = try await client.health() }
        #expect(client.poolStatistics.dialled == 1)
        #expect(client.poolStatistics.idle == 1)

        // A graceful restart closes our idle connection; the next call dials afresh.
        let stopped = await offThePool { plugin.stop() }
        #expect(stopped.status == 0)
        let restarted = try await startPlugin(databaseURL: database.url, port: plugin.port)
        defer { stopInBackground(restarted) }
        _ = try await client.health()
        _ = try await client.commit(namespace: "workspace:r", write: MemoryWrite(content: "after restart", kind: .fact, source: .agent))
        #expect(client.poolStatistics.dialled == 2)
        #expect(client.breaker.state == .closed)
    }

    @Test func anAnswerAboveTheCapIsAProtocolViolation() async throws {
        let database = try await TestPostgres.createDatabase("client")
        defer { database.drop() }
        let plugin = try await RunningPlugin(databaseURL: database.url)
        defer { stopInBackground(plugin) }
        let client = try makeClient(port: plugin.port, maxResponseBytes: 2048)
        defer { Task { await client.shutdown() } }
        _ = try await client.commit(namespace: "workspace:big", write: MemoryWrite(content: String(repeating: "x", count: 4000), kind: .fact, source: .agent))
        let (error, _) = await timed { try await client.search(SearchRequest(namespaces: ["workspace:big"])) }
        guard case .protocolViolation(let message)? = error else {
            Issue.record("expected a protocol violation, got \(String(describing: error))")
            return
        }
        #expect(message.contains("larger than 2048"))
        // The connection was dropped, not reused with half an answer in it.
        _ = try await client.health()
    }

    @Test func callsAfterShutdownAreUnavailable() async throws {
        let database = try await TestPostgres.createDatabase("client")
        defer { database.drop() }
        let plugin = try await RunningPlugin(databaseURL: database.url)
        defer { stopInBackground(plugin) }
        let client = try makeClient(port: plugin.port)
        _ = try await client.health()
        await client.shutdown()
        let (error, _) = await timed { try await client.health() }
        #expect(error?.unavailableMessage?.contains("shut down") == true)
        #expect(client.breaker.state == .closed)
    }
}
