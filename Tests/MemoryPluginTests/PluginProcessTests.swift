import Foundation
import MemoryContract
import TestSupport
import Testing

@Suite("Memory plugin process")
struct PluginProcessTests {
    @Test func aClientCommitsSearchesListsAndForgetsOverHTTP() async throws {
        let database = try await TestPostgres.createDatabase("plugin")
        defer { database.drop() }
        // The reference's URL style (search_path parameter) must keep working.
        let plugin = try await RunningPlugin(databaseURL: database.url + "?search_path=memory_plugin,public")

        let health = try plugin.send("GET", "/v1/health").json(HealthResponse.self)
        #expect(health.status == "ok")
        #expect(health.capabilities.contains("fts") && health.capabilities.contains("kv"))
        #expect(!health.capabilities.contains("embedding"))

        let committed = try plugin.send("POST", "/v1/namespaces/workspace:w1/memories", #"{"content":"the release ships friday","kind":"fact","source":"agent"}"#)
        #expect(committed.status == 201)
        let written = try committed.json(MemoryWriteResponse.self)
        #expect(written.namespace == "workspace:w1")

        let search = try plugin.send("POST", "/v1/search", #"{"namespaces":["workspace:w1"],"query":"release"}"#)
        #expect(search.status == 200)
        #expect(try search.json(SearchResponse.self).memories.map(\.id) == [written.id])
        #expect(try plugin.send("POST", "/v1/search", #"{"namespaces":["workspace:empty"]}"#).text == #"{"memories":[]}"#)

        let page = try plugin.send("GET", "/v1/namespaces/workspace:w1/memories?limit=10").json(MemoryPage.self)
        #expect(page.memories.count == 1 && page.nextCursor == nil)

        let wrongNamespace = try plugin.send("DELETE", "/v1/memories/\(written.id)", #"{"requested_by_namespace":"workspace:other"}"#)
        #expect(wrongNamespace.status == 404)
        #expect(try plugin.send("DELETE", "/v1/memories/\(written.id)", #"{"requested_by_namespace":"workspace:w1"}"#).status == 204)

        let metrics = try plugin.send("GET", "/metrics")
        #expect(metrics.text.contains(#"memory_plugin_requests_total{method="POST",route="/v1/namespaces/{name}/memories",status="201"} 1"#))

        let stopped = plugin.stop()
        #expect(stopped.status == 0, "stderr: \(stopped.stderr)")
    }

    @Test func badInputGetsContractErrorsNeverA5xx() async throws {
        let database = try await TestPostgres.createDatabase("plugin")
        defer { database.drop() }
        let plugin = try await RunningPlugin(databaseURL: database.url)
        defer { _ = plugin.stop() }
        let cases: [(String, String, String?, Int, String)] = [
            ("POST", "/v1/search", "{not json", 400, "body is not valid JSON"),
            ("POST", "/v1/search", #"{"namespaces":[1]}"#, 400, "namespaces[0]"),
            ("POST", "/v1/search", #"{"namespaces":[]}"#, 400, "namespaces is empty"),
            ("POST", "/v1/search", #"{"namespaces":["workspace:a"],"limit":500}"#, 400, "limit"),
            ("POST", "/v1/namespaces/Bad%20Name/memories", #"{"content":"x","kind":"fact","source":"agent"}"#, 400, "namespace"),
            ("POST", "/v1/namespaces/workspace:a/memories", #"{"content":"x","kind":"opinion","source":"agent"}"#, 400, "kind"),
            ("POST", "/v1/namespaces/workspace:a/memories", #"{"content":"x","kind":"fact","source":"agent","id":"not-a-uuid"}"#, 400, "id must be a UUID"),
            ("POST", "/v1/namespaces/workspace:a/memories", #"{"content":"a\u0000b","kind":"fact","source":"agent"}"#, 400, "NUL"),
            ("POST", "/v1/namespaces/workspace:a/memories", #"{"content":"x","kind":"fact","source":"agent","embedding":[1,2]}"#, 400, "pgvector"),
            ("DELETE", "/v1/memories/42", #"{"requested_by_namespace":"workspace:a"}"#, 400, "UUID"),
            ("PATCH", "/v1/namespaces/workspace:a", "{}", 400, "no fields"),
            ("GET", "/v1/nothing-here", nil, 404, "no route"),
        ]
        for (method, path, body, status, fragment) in cases {
            let response = try plugin.send(method, path, body)
            #expect(response.status == status, "\(method) \(path): \(response.status) \(response.text)")
            let error = try? response.json(ContractError.self)
            #expect(error?.message.contains(fragment) == true, "\(method) \(path): \(response.text)")
        }
        let huge = Data(("{\"namespaces\":[\"workspace:a\"],\"query\":\"" + String(repeating: "a", count: 1_100_000) + "\"}").utf8)
        let tooLarge = try TestHTTP.request("POST", port: plugin.port, path: "/v1/search", body: huge)
        #expect(tooLarge.status == 413)
        #expect((try? tooLarge.json(ContractError.self))?.code == .badRequest)
    }

    @Test func databaseDownIsUnavailableEverywhereAndThePluginRecovers() async throws {
        let server = try EphemeralPostgres.start()
        defer { server.destroy() }
        let plugin = try await RunningPlugin(databaseURL: server.url)
        defer { _ = plugin.stop() }
        #expect(try plugin.send("POST", "/v1/namespaces/workspace:a/memories", #"{"content":"kept","kind":"fact","source":"agent"}"#).status == 201)
        try server.stopServer()
        for (method, path, body) in [("GET", "/v1/health", nil), ("POST", "/v1/search", #"{"namespaces":["workspace:a"]}"#),
                                      ("POST", "/v1/namespaces/workspace:a/memories", #"{"content":"lost?","kind":"fact","source":"agent"}"#)] {
            let started = ContinuousClock.now
            let response = try plugin.send(method, path, body)
            #expect(response.status == 503, "\(method) \(path): \(response.text)")
            #expect((try? response.json(ContractError.self))?.code == .unavailable)
            #expect(ContinuousClock.now - started < .seconds(10))
        }
        try server.startServer()
        let search = try plugin.send("POST", "/v1/search", #"{"namespaces":["workspace:a"]}"#)
        #expect(search.status == 200)
        #expect(try search.json(SearchResponse.self).memories.map(\.content) == ["kept"])
    }
}

@Suite("Memory plugin batch route")
struct PluginBatchTests {
    @Test func theBatchRouteAnswersOneResultPerItemAndRefusesEmptyBatches() async throws {
        let database = try await TestPostgres.createDatabase("plugin")
        defer { database.drop() }
        let plugin = try await RunningPlugin(databaseURL: database.url)
        defer { _ = plugin.stop() }
        let body = #"{"items":[{"namespace":"workspace:a","content":"one","kind":"fact","source":"agent"},{"namespace":"workspace:a","content":"two","kind":"opinion","source":"agent"},{"content":"no namespace","kind":"fact","source":"agent"}]}"#
        let response = try plugin.send("POST", "/v1/memories/batch", body)
        #expect(response.status == 200, "\(response.text)")
        let results = try response.json(BatchResponse.self).results
        #expect(results.map(\.status) == [.created, .error, .error])
        #expect(results[1].error?.message.contains("kind") == true)
        #expect(results[2].error?.message == "namespace is required")
        #expect(try plugin.send("POST", "/v1/memories/batch", #"{"items":[]}"#).status == 400)
    }
}
