import Foundation
import TestSupport
import Testing

/// A scripted agent making exactly the calls the reference's Python runtime makes.
@Suite("Scripted agent")
struct ScriptedAgentTests {
    @Test func anAgentRegistersHeartbeatsDiscoversPeersAndPollsActivity() async throws {
        let server = try await RunningServer()
        let origin = "http://127.0.0.1:\(server.port)"
        let lead = try server.createWorkspace("lead")
        let memberA = try server.createWorkspace("member-a", parent: lead)
        let memberB = try server.createWorkspace("member-b", parent: lead)
        let stranger = try server.createWorkspace("stranger")

        // First register mints the token; the runtime sends Origin = its PLATFORM_URL.
        let first = try server.send("POST", "/registry/register",
                                    #"{"id":"\#(memberA)","url":"","delivery_mode":"poll","agent_card":{"name":"a","skills":[]}}"#,
                                    headers: ["Origin": origin])
        #expect(first.status == 200, "\(first.text)")
        #expect(first.headers["access-control-allow-origin"] == origin)
        let registered = try first.object()
        let token = try #require(registered["auth_token"] as? String)
        #expect(token.count == 43)
        let secret = try #require(registered["platform_inbound_secret"] as? String)
        #expect(registered["delivery_mode"] as? String == "poll")

        // Once a live token exists, register needs it.
        let again = #"{"id":"\#(memberA)","url":"","delivery_mode":"poll","agent_card":{"name":"a"}}"#
        #expect(try server.send("POST", "/registry/register", again).status == 401)
        let reRegistered = try server.send("POST", "/registry/register", again, token: token)
        #expect(reRegistered.status == 200)
        #expect(try reRegistered.object()["auth_token"] == nil)

        let leadToken = try #require(try server.send("POST", "/registry/register",
            #"{"id":"\#(lead)","url":"http://localhost:9999/a2a","agent_card":{"name":"lead"}}"#).object()["auth_token"] as? String)
        let strangerToken = try server.registerPoll(stranger)

        // Heartbeats keep it online, report load, and carry the inbound secret.
        let beat = try server.send("POST", "/registry/heartbeat",
            #"{"workspace_id":"\#(memberA)","error_rate":0,"sample_error":"","active_tasks":1,"uptime_seconds":5,"current_task":"triage"}"#, token: token)
        #expect(beat.status == 200, "\(beat.text)")
        #expect(try beat.object()["platform_inbound_secret"] as? String == secret)
        let degraded = try server.send("POST", "/registry/heartbeat", #"{"workspace_id":"\#(memberA)","error_rate":0.7,"current_task":"triage"}"#, token: token)
        #expect(try degraded.object()["workspace_status"] as? String == "degraded")
        let recovered = try server.send("POST", "/registry/heartbeat", #"{"workspace_id":"\#(memberA)","error_rate":0.0,"current_task":"triage"}"#, token: token)
        #expect(try recovered.object()["workspace_status"] as? String == "online")

        let card = try server.send("POST", "/registry/update-card", #"{"workspace_id":"\#(memberA)","agent_card":{"name":"a","skills":[{"id":"x"}]}}"#, token: token)
        #expect(card.status == 200 && card.text.contains("updated"))

        // The public read carries no secrets.
        let publicView = try server.send("GET", "/workspaces/\(memberA)")
        #expect(publicView.status == 200)
        let view = try publicView.object()
        #expect(view["status"] as? String == "online")
        #expect(view["current_task"] as? String == "triage")
        #expect(!publicView.text.contains(secret) && !publicView.text.contains(token) && !publicView.text.contains("inbound"))

        // Discovery: the parent by URL, a poll-mode sibling without one (still 200), a stranger refused.
        let discovered = try server.send("GET", "/registry/discover/\(lead)", token: token, headers: ["X-Workspace-ID": memberA])
        #expect(discovered.status == 200, "\(discovered.text)")
        #expect(try discovered.object()["url"] as? String == "http://localhost:9999/a2a")
        let pollPeer = try server.send("GET", "/registry/discover/\(memberA)", token: leadToken, headers: ["X-Workspace-ID": lead])
        #expect(pollPeer.status == 200, "\(pollPeer.text)")
        #expect(try pollPeer.object()["delivery_mode"] as? String == "poll")
        #expect(try server.send("GET", "/registry/discover/\(stranger)", token: token, headers: ["X-Workspace-ID": memberA]).status == 403)
        #expect(try server.send("GET", "/registry/discover/\(lead)", token: token).status == 400)
        #expect(try server.send("GET", "/registry/discover/\(lead)", token: strangerToken, headers: ["X-Workspace-ID": memberA]).status == 401)

        let peers = try server.send("GET", "/registry/\(memberA)/peers", token: token)
        #expect(peers.status == 200)
        #expect(Set(try peers.array().compactMap { $0["id"] as? String }) == [lead, memberB])

        // Activity: report, filter by type, cursor oldest first, since_secs newest first, stale cursor 410.
        var ids: [String] = []
        for (type, method) in [("a2a_receive", "message/send"), ("a2a_send", "message/send"), ("memory_write", "commit_memory")] {
            let body = #"{"activity_type":"\#(type)","method":"\#(method)","source_id":"\#(memberA)","summary":"\#(type)","request_body":{"text":"\#(type)"}}"#
            let logged = try server.send("POST", "/workspaces/\(memberA)/activity", body, token: token)
            #expect(logged.status == 200, "\(logged.text)")
            ids.append(try #require(try logged.object()["id"] as? String))
        }
        let received = try server.send("GET", "/workspaces/\(memberA)/activity?type=a2a_receive", token: token).array()
        #expect(received.count == 1)
        #expect(received.first?["method"] as? String == "message/send")
        #expect(received.first?["source_id"] as? String == memberA)
        #expect((received.first?["request_body"] as? [String: Any])?["text"] as? String == "a2a_receive")
        let afterFirst = try server.send("GET", "/workspaces/\(memberA)/activity?since_id=\(ids[0])", token: token).array()
        #expect(afterFirst.compactMap { $0["id"] as? String } == [ids[1], ids[2]])
        let afterLast = try server.send("GET", "/workspaces/\(memberA)/activity?since_id=\(ids[2])", token: token).array()
        #expect(afterLast.isEmpty)
        let recent = try server.send("GET", "/workspaces/\(memberA)/activity?since_secs=600&limit=2", token: token).array()
        #expect(recent.compactMap { $0["id"] as? String } == [ids[2], ids[1]])
        let stale = try server.send("GET", "/workspaces/\(memberA)/activity?since_id=\(UUID().uuidString.lowercased())", token: token)
        #expect(stale.status == 410)
        #expect(stale.errorBody?.code == "gone")
        let othersCursor = try server.send("GET", "/workspaces/\(lead)/activity?since_id=\(ids[0])", token: leadToken)
        #expect(othersCursor.status == 410)
        let spoofed = try server.send("POST", "/workspaces/\(memberA)/activity", #"{"activity_type":"a2a_send","source_id":"\#(lead)"}"#, token: token)
        #expect(spoofed.status == 403)
        #expect(spoofed.errorBody?.error.contains("source_id") == true)
        let unknownType = try server.send("POST", "/workspaces/\(memberA)/activity", #"{"activity_type":"gossip"}"#, token: token)
        #expect(unknownType.status == 400)

        // Graceful SIGTERM, and no token or secret ever reached the log.
        let outcome = server.stop()
        #expect(outcome.status == 0, "\(outcome.stderr.suffix(2000))")
        for secretText in [token, leadToken, strangerToken, secret, server.adminToken!] {
            #expect(!outcome.stderr.contains(secretText) && !outcome.stdout.contains(secretText), "a secret reached the logs")
        }
        #expect(outcome.stderr.contains("workspace registered"))
    }

    @Test func anExternalWorkspaceGetsAConnectionBlockWithAOneTimeToken() async throws {
        let server = try await RunningServer()
        let created = try server.send("POST", "/workspaces", #"{"name":"laptop","runtime":"external"}"#, token: server.adminToken)
        #expect(created.status == 201, "\(created.text)")
        let body = try created.object()
        let id = try #require(body["id"] as? String)
        #expect(body["status"] as? String == "awaiting_agent")
        let connection = try #require(body["connection"] as? [String: Any])
        let token = try #require(connection["auth_token"] as? String)
        #expect(connection["registry_endpoint"] as? String == "http://127.0.0.1:\(server.port)/registry/register")
        // The create reply carried the token, so register needs it and mints nothing more.
        #expect(try server.send("POST", "/registry/register", #"{"id":"\#(id)","url":""}"#).status == 401)
        let registered = try server.send("POST", "/registry/register", #"{"id":"\#(id)","url":""}"#, token: token)
        #expect(registered.status == 200, "\(registered.text)")
        #expect(try registered.object()["delivery_mode"] as? String == "poll")
        // Re-showing does not reveal a token; rotating revokes the old one.
        let shown = try server.send("GET", "/workspaces/\(id)/external/connection", token: token).object()
        #expect((shown["connection"] as? [String: Any])?["auth_token"] as? String == "")
        let rotated = try server.send("POST", "/workspaces/\(id)/external/rotate", token: token).object()
        let fresh = try #require((rotated["connection"] as? [String: Any])?["auth_token"] as? String)
        #expect(try server.send("POST", "/registry/heartbeat", #"{"workspace_id":"\#(id)"}"#, token: token).status == 401)
        #expect(try server.send("POST", "/registry/heartbeat", #"{"workspace_id":"\#(id)"}"#, token: fresh).status == 200)
    }

    @Test func adminManagesWorkspacesAndTokens() async throws {
        let server = try await RunningServer()
        let root = try server.createWorkspace("root")
        let child = try server.createWorkspace("child", parent: root)
        let list = try server.send("GET", "/workspaces", token: server.adminToken).array()
        #expect(Set(list.compactMap { $0["id"] as? String }) == [root, child])

        let renamed = try server.send("PATCH", "/workspaces/\(child)", #"{"name":"renamed","parent_id":null}"#, token: server.adminToken)
        #expect(renamed.status == 200, "\(renamed.text)")
        #expect(try renamed.object()["name"] as? String == "renamed")
        #expect(try renamed.object()["parent_id"] == nil)
        #expect(try server.send("PATCH", "/workspaces/\(root)", #"{"parent_id":"\#(root)"}"#, token: server.adminToken).status == 400)

        let minted = try server.send("POST", "/admin/workspaces/\(root)/tokens", token: server.adminToken)
        #expect(minted.status == 201)
        let token = try #require(try minted.object()["auth_token"] as? String)
        let tokens = try server.send("GET", "/workspaces/\(root)/tokens", token: token).array()
        #expect(tokens.count == 1 && tokens.first?["prefix"] as? String == String(token.prefix(8)))
        #expect(!(try server.send("GET", "/workspaces/\(root)/tokens", token: token).text.contains(token)))
        let revokedAll = try server.send("POST", "/admin/workspaces/\(root)/revoke-auth-tokens", token: server.adminToken)
        #expect(try revokedAll.object()["revoked"] as? Int == 1)
        #expect(try server.send("GET", "/workspaces/\(root)/tokens", token: token).status == 401)

        let removed = try server.send("DELETE", "/workspaces/\(root)", token: server.adminToken)
        #expect(removed.status == 200)
        #expect(try server.send("GET", "/workspaces/\(root)").status == 404)
        // Register never brings back (or creates) a workspace the admin did not keep.
        #expect(try server.send("POST", "/registry/register", #"{"id":"\#(root)","url":"","delivery_mode":"poll"}"#).status == 404)
        #expect(try server.send("POST", "/registry/register", #"{"id":"\#(UUID().uuidString)","url":"","delivery_mode":"poll"}"#).status == 404)
    }
}
