import Foundation
import TestSupport
import Testing

/// The MCP messaging tools against a real server and a scripted push-mode agent: the
/// same rules as the HTTP routes they share code with.
@Suite("MCPMessaging")
struct MCPMessagingTests {
    /// A tools/call answer: the tool's text, or the JSON-RPC error.
    struct ToolAnswer {
        let text: String
        let errorCode: Int?
        let errorMessage: String
        let reason: String?
    }

    static func call(_ server: RunningServer, _ workspace: String, token: String, _ name: String, _ arguments: String = "{}") throws -> ToolAnswer {
        let response = try server.send("POST", "/workspaces/\(workspace)/mcp",
                                       #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\#(name)","arguments":\#(arguments)}}"#,
                                       token: token)
        let object = try response.object()
        if let error = object["error"] as? [String: Any] {
            return ToolAnswer(text: "", errorCode: error["code"] as? Int, errorMessage: error["message"] as? String ?? "",
                              reason: (error["data"] as? [String: Any])?["code"] as? String)
        }
        let content = (object["result"] as? [String: Any])?["content"] as? [[String: Any]]
        return ToolAnswer(text: content?.first?["text"] as? String ?? "", errorCode: nil, errorMessage: "", reason: nil)
    }

    static func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object: \(text)")
    }

    @Test func peersAndWorkspaceInfoShowOnlyWhatTheAgentMayKnow() async throws {
        let server = try await RunningServer()
        let team = try A2ATests.team(server)
        let (stranger, strangerToken) = try server.agent("stranger")

        let listed = try server.send("POST", "/workspaces/\(team.member)/mcp", #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, token: team.memberToken)
        let tools = try #require((try listed.object()["result"] as? [String: Any])?["tools"] as? [[String: Any]])
        let names = Set(tools.compactMap { $0["name"] as? String })
        #expect(names.isSuperset(of: ["delegate_task", "delegate_task_async", "check_task_status", "list_peers", "get_workspace_info", "send_message_to_user"]))

        let peers = try Self.call(server, team.member, token: team.memberToken, "list_peers")
        let list = try #require(try JSONSerialization.jsonObject(with: Data(peers.text.utf8)) as? [[String: Any]], "\(peers.text)")
        #expect(list.compactMap { $0["id"] as? String } == [team.lead], "its parent, never the unrelated root")
        #expect(list.first?["name"] as? String == "lead")
        #expect(list.first?["url"] == nil)
        #expect(try Self.call(server, stranger, token: strangerToken, "list_peers").text == "No peers found.")

        // The push-mode lead has a URL, a token and an inbound secret: none of them shows.
        let info = try Self.call(server, team.lead, token: team.leadToken, "get_workspace_info")
        let fields = try Self.json(info.text)
        #expect(fields["id"] as? String == team.lead)
        #expect(fields["name"] as? String == "lead")
        #expect(fields["parent_id"] == nil)
        #expect(Set(fields.keys).isSubset(of: ["id", "name", "role", "tier", "status", "parent_id", "delivery_mode"]), "\(fields.keys)")
        #expect(!info.text.contains(team.leadToken) && !info.text.contains(team.leadSecret) && !info.text.contains("localhost"))
        #expect(try Self.json(try Self.call(server, team.member, token: team.memberToken, "get_workspace_info").text)["parent_id"] as? String == team.lead)
        #expect(try Self.call(server, team.member, token: team.memberToken, "list_peers", #"{"all":true}"#).errorCode == -32000)
    }

    @Test func sendMessageToUserStoresAndPublishesAsNotifyDoes() async throws {
        let server = try await RunningServer()
        let (lead, token) = try server.agent("lead")
        let stream = try StreamingClient(port: server.port, path: "/workspaces/\(lead)/events/stream", headers: ["Authorization": "Bearer \(token)"])
        #expect(stream.status == 200)

        let sent = try Self.call(server, lead, token: token, "send_message_to_user",
                                 #"{"message":"deploy finished","attachments":[{"uri":"workspace:/out/log.txt","name":"log.txt","mimeType":"text/plain"}]}"#)
        #expect(try Self.json(sent.text)["status"] as? String == "sent", "\(sent.errorMessage)")
        var event = try #require(try stream.nextEvent())
        while event["type"] as? String != "AGENT_MESSAGE" { event = try #require(try stream.nextEvent()) }
        let data = try #require(event["data"] as? [String: Any])
        #expect(data["message"] as? String == "deploy finished")
        #expect(data["workspace_id"] as? String == lead)
        #expect((data["attachments"] as? [[String: Any]])?.first?["name"] as? String == "log.txt")
        let inbox = try server.send("GET", "/workspaces/\(lead)/activity?type=a2a_receive", token: token).array()
        #expect(inbox.first?["method"] as? String == "notify")
        #expect((inbox.first?["response_body"] as? [String: Any])?["result"] as? String == "deploy finished")

        let blank = try Self.call(server, lead, token: token, "send_message_to_user", #"{"message":" "}"#)
        #expect(blank.errorCode == -32000 && blank.errorMessage.contains("message"))
        let badAttachment = try Self.call(server, lead, token: token, "send_message_to_user", #"{"message":"x","attachments":[{"uri":"","name":"a"}]}"#)
        #expect(badAttachment.errorMessage.contains("attachment[0]"))
        let notAList = try Self.call(server, lead, token: token, "send_message_to_user", #"{"message":"x","attachments":"log.txt"}"#)
        #expect(notAList.errorMessage.contains("attachments must be an array"))
        #expect(try server.send("PATCH", "/workspaces/\(lead)/abilities", #"{"talk_to_user_enabled":false}"#, token: server.adminToken).status == 200)
        let silenced = try Self.call(server, lead, token: token, "send_message_to_user", #"{"message":"hello?"}"#)
        #expect(silenced.errorCode == -32000)
        #expect(silenced.reason == "talk_to_user_disabled")
        let after = try server.send("GET", "/workspaces/\(lead)/activity?type=a2a_receive", token: token).array()
        #expect(after.count == inbox.count, "a refused message is not stored")
    }

    @Test func delegationsRoundTripToAPushAgentAndStrangersAreRefused() async throws {
        let server = try await RunningServer()
        let team = try A2ATests.team(server)

        let started = try Self.call(server, team.member, token: team.memberToken, "delegate_task_async",
                                    #"{"workspace_id":"\#(team.lead)","task":"count the files"}"#)
        let accepted = try Self.json(started.text)
        let taskID = try #require(accepted["task_id"] as? String, "\(started.errorMessage)")
        #expect(accepted["status"] as? String == "queued")
        #expect(accepted["target_id"] as? String == team.lead)

        // Polled as an agent would, with a generous bound for a loaded machine.
        var status: [String: Any] = [:]
        for _ in 0..<600 {
            status = try Self.json(try Self.call(server, team.member, token: team.memberToken, "check_task_status",
                                                 #"{"workspace_id":"\#(team.lead)","task_id":"\#(taskID)"}"#).text)
            if status["status"] as? String == "completed" || status["status"] as? String == "failed" { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(status["status"] as? String == "completed")
        #expect(status["result"] as? String == "echo: count the files")
        #expect(status["task_id"] as? String == taskID)
        #expect(team.agent.requests.map(\.text) == ["count the files"])
        // The same delegation is on the HTTP ledger, and nobody else can read it.
        let ledger = try server.send("GET", "/workspaces/\(team.member)/delegations", token: team.memberToken).array()
        #expect(ledger.first?["delegation_id"] as? String == taskID)
        let foreign = try Self.json(try Self.call(server, team.lead, token: team.leadToken, "check_task_status", #"{"task_id":"\#(taskID)"}"#).text)
        #expect(foreign["status"] as? String == "not_found")

        // The synchronous tool answers with the target's text.
        let answered = try Self.call(server, team.member, token: team.memberToken, "delegate_task", #"{"workspace_id":"\#(team.lead)","task":"and now?"}"#)
        #expect(answered.text == "echo: and now?", "\(answered.errorMessage)")
        let long = String(repeating: "word ", count: 2_000)
        let longAnswer = try Self.call(server, team.member, token: team.memberToken, "delegate_task", #"{"workspace_id":"\#(team.lead)","task":"\#(long)"}"#)
        #expect(longAnswer.text == "echo: " + long, "the whole answer (10,000 characters), not a preview")

        // Unknown, unrelated and malformed targets: JSON-RPC errors naming the reason.
        let (stranger, strangerToken) = try server.agent("stranger")
        let forbidden = try Self.call(server, stranger, token: strangerToken, "delegate_task_async", #"{"workspace_id":"\#(team.lead)","task":"x"}"#)
        #expect(forbidden.errorCode == -32000 && forbidden.reason == "forbidden", "\(forbidden)")
        #expect(forbidden.errorMessage.contains("cannot communicate"))
        let unknown = try Self.call(server, team.member, token: team.memberToken, "delegate_task",
                                    #"{"workspace_id":"\#(UUID().uuidString.lowercased())","task":"x"}"#)
        #expect(unknown.errorCode == -32000 && unknown.reason == "not_found", "\(unknown)")
        let malformed = try Self.call(server, team.member, token: team.memberToken, "delegate_task_async", #"{"workspace_id":"nope","task":"x"}"#)
        #expect(malformed.errorCode == -32000 && malformed.errorMessage.contains("workspace UUID"))
        let missing = try Self.call(server, team.member, token: team.memberToken, "delegate_task_async", #"{"workspace_id":"\#(team.lead)"}"#)
        #expect(missing.errorMessage.contains("task is required"))
        #expect(team.agent.requests.count == 3, "no refused call reached the agent")
    }
}
