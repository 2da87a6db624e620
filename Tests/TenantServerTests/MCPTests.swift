import Foundation
import TestSupport
import Testing

/// MCP over JSON-RPC 2.0 (protocol 2024-11-05) on `POST /workspaces/:id/mcp`, and its
/// SSE transport, against real plugin and server processes.
@Suite("MCP", .serialized)
struct MCPTests {
    @Test func theProtocolHandshakeToolsAndErrorsBehaveAsJSONRPC() async throws {
        let tenant = try await MemoryTenant()
        let server = tenant.server
        let agent = try tenant.agent("mcp-agent")
        let path = "/workspaces/\(agent.id)/mcp"

        let initialize = try tenant.mcp(agent.id, token: agent.token, "initialize", #"{"protocolVersion":"2024-11-05","capabilities":{}}"#, id: 7)
        #expect(initialize.status == 200)
        let answer = try initialize.object()
        #expect(answer["jsonrpc"] as? String == "2.0")
        #expect(answer["id"] as? Int == 7)
        let result = try #require(answer["result"] as? [String: Any])
        #expect(result["protocolVersion"] as? String == "2024-11-05")
        #expect((result["serverInfo"] as? [String: Any])?["name"] as? String == "molecule-tenant")
        #expect(((result["capabilities"] as? [String: Any])?["tools"]) != nil)

        let notified = try server.send("POST", path, #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, token: agent.token)
        #expect(notified.status == 202)
        #expect(notified.body.isEmpty)
        #expect(try tenant.mcp(agent.id, token: agent.token, "ping").object()["result"] as? [String: Any] != nil)

        let listed = try tenant.mcp(agent.id, token: agent.token, "tools/list").object()
        let tools = try #require((listed["result"] as? [String: Any])?["tools"] as? [[String: Any]])
        #expect(Set(tools.compactMap { $0["name"] as? String }) == [
            "commit_memory", "recall_memory", "commit_memory_v2", "search_memory", "commit_summary", "forget_memory",
            "list_writable_namespaces", "list_readable_namespaces",
            "delegate_task", "delegate_task_async", "check_task_status", "list_peers", "get_workspace_info", "send_message_to_user",
        ])
        #expect(tools.allSatisfy { ($0["inputSchema"] as? [String: Any])?["type"] as? String == "object" })

        // The tools do their jobs.
        let written = try tenant.tool(agent.id, token: agent.token, "commit_memory_v2", #"{"content":"pinned fact","pin":true,"kind":"fact"}"#)
        let writtenID = try #require(try JSONSerialization.jsonObject(with: Data(written.utf8)) as? [String: Any])["id"] as? String
        let summary = try tenant.tool(agent.id, token: agent.token, "commit_summary", #"{"content":"the week in one line"}"#)
        #expect(summary.contains(#""namespace":"workspace:\#(agent.id)""#))
        let searched = try tenant.tool(agent.id, token: agent.token, "search_memory", #"{"kinds":["summary"]}"#)
        #expect(searched.contains("the week in one line") && !searched.contains("pinned fact"))
        let writable = try tenant.tool(agent.id, token: agent.token, "list_writable_namespaces")
        #expect(writable.contains("org:\(agent.id)"), "a root writes its org namespace")
        #expect(try tenant.tool(agent.id, token: agent.token, "list_readable_namespaces").contains("team:\(agent.id)"))
        #expect(try tenant.tool(agent.id, token: agent.token, "forget_memory", #"{"memory_id":"\#(writtenID!)"}"#) == #"{"forgotten":true}"#)
        #expect(try tenant.tool(agent.id, token: agent.token, "forget_memory", #"{"memory_id":"\#(writtenID!)"}"#).hasPrefix("error: memory not found"))
        #expect(try tenant.tool(agent.id, token: agent.token, "recall_memory", #"{"query":"nothing-like-this"}"#) == "No memories found.")

        // Errors: each the JSON-RPC way, naming the problem.
        func error(_ body: String) throws -> (status: Int, code: Int?, message: String) {
            let response = try server.send("POST", path, body, token: agent.token)
            let error = try response.object()["error"] as? [String: Any]
            return (response.status, error?["code"] as? Int, error?["message"] as? String ?? "")
        }
        #expect(try error("{nope").code == -32700)
        #expect(try error("{nope").status == 400)
        #expect(try error(#"{"id":1,"method":"ping"}"#).code == -32600)
        #expect(try error(#"{"jsonrpc":"2.0","id":1,"method":"resources/list"}"#).code == -32601)
        #expect(try error(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"rm_rf"}}"#).code == -32602)
        let wrongType = try error(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"commit_memory","arguments":{"content":5}}}"#)
        #expect(wrongType.code == -32000 && wrongType.message.contains("content must be a string"))
        let unknownArgument = try error(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"recall_memory","arguments":{"qeury":"x"}}}"#)
        #expect(unknownArgument.message.contains("qeury is not an argument"))
        let blank = try error(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"commit_memory","arguments":{"content":"  "}}}"#)
        #expect(blank.code == -32000)

        // A batch gets one answer per request, none for its notification.
        let batch = try server.send("POST", path, #"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"},{"jsonrpc":"2.0","id":2,"method":"tools/list"}]"#, token: agent.token)
        #expect(try batch.array().compactMap { $0["id"] as? Int } == [1, 2])
    }

    @Test func theSSEStreamNamesItsEndpointAndCarriesAnswersOfItsSession() async throws {
        let tenant = try await MemoryTenant()
        let agent = try tenant.agent("sse-agent")
        let stream = try SSEConnection(port: tenant.server.port, path: "/workspaces/\(agent.id)/mcp/stream", token: agent.token)
        defer { stream.close() }
        let endpoint = try stream.nextEvent()
        #expect(endpoint.name == "endpoint")
        #expect(endpoint.data.hasPrefix("/workspaces/\(agent.id)/mcp?session_id="))
        #expect(stream.headers.lowercased().contains("content-type: text/event-stream"))

        let posted = try tenant.server.send("POST", endpoint.data, #"{"jsonrpc":"2.0","id":"a1","method":"tools/list"}"#, token: agent.token)
        #expect(posted.status == 202)
        let message = try stream.nextEvent()
        #expect(message.name == "message")
        #expect(message.data.contains(#""id":"a1""#) && message.data.contains("commit_memory"))
        // Another workspace cannot use the session.
        let other = try tenant.agent("sse-other")
        let foreign = try tenant.server.send("POST", endpoint.data.replacingOccurrences(of: agent.id, with: other.id),
                                             #"{"jsonrpc":"2.0","id":2,"method":"ping"}"#, token: other.token)
        #expect(foreign.status == 200, "answered in its own body, not on a stranger's stream")
        // Without a token there is no stream.
        #expect(try tenant.server.send("GET", "/workspaces/\(agent.id)/mcp/stream").status == 401)
    }

    @Test func toolCallsAreLimitedPerToken() async throws {
        let tenant = try await MemoryTenant()
        let agent = try tenant.agent("chatty")
        var statuses: [Int] = []
        for index in 0..<125 {
            statuses.append(try tenant.mcp(agent.id, token: agent.token, "ping", id: index).status)
        }
        #expect(statuses.filter { $0 == 200 }.count <= 120)
        #expect(statuses.last == 429)
        let limited = try tenant.mcp(agent.id, token: agent.token, "ping")
        #expect(limited.errorBody?.code == "rate_limited")
        // Another token has its own budget.
        let other = try tenant.agent("quiet")
        #expect(try tenant.mcp(other.id, token: other.token, "ping").status == 200)
    }
}

/// A raw SSE reader: TestHTTP waits for the connection to close, a stream never does.
final class SSEConnection {
    private let descriptor: Int32
    private var buffer = ""
    private(set) var headers = ""

    init(port: Int, path: String, token: String) throws {
        descriptor = try TestHTTP.connectLoopback(port: port, receiveTimeout: .seconds(20))
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nAccept: text/event-stream\r\n\r\n"
        _ = request.withCString { send(descriptor, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        while buffer.range(of: "\n\n") == nil { try read() }
        let end = buffer.range(of: "\n\n")!
        headers = String(buffer[..<end.lowerBound])
        buffer = String(buffer[end.upperBound...])
    }

    private func read() throws {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let count = recv(descriptor, &chunk, chunk.count, 0)
        guard count > 0 else { throw TestSupportError("stream closed or timed out; unread: \(buffer.debugDescription)") }
        // Without carriage returns: Swift reads "\r\n" as one Character, which hides the "\n".
        let text = String(decoding: chunk[0..<count], as: UTF8.self)
        buffer += String(String.UnicodeScalarView(text.unicodeScalars.filter { $0 != "\r" }))
    }

    /// The next `event:`/`data:` block; chunk-size lines and comments are skipped.
    func nextEvent() throws -> (name: String, data: String) {
        while true {
            if let end = buffer.range(of: "\n\n") {
                let block = String(buffer[..<end.lowerBound])
                buffer = String(buffer[end.upperBound...])
                var name = ""
                var data = ""
                for line in block.split(separator: "\n") {
                    if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
                    if line.hasPrefix("data: ") { data = String(line.dropFirst(6)) }
                }
                if !name.isEmpty { return (name, data) }
                continue
            }
            try read()
        }
    }

    func close() { _ = Glibc.close(descriptor) }
}
