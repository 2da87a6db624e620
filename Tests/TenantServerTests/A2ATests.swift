import Foundation
import Postgres
import TestSupport
import Testing

/// Two scripted agents talking through the server: a push-mode one (a real HTTP server
/// in the test) and a poll-mode one reading its inbox from activity.
@Suite("A2A")
struct A2ATests {
    struct Team {
        let server: RunningServer
        let agent: TestAgent
        let lead: String
        let leadToken: String
        let leadSecret: String
        let member: String
        let memberToken: String
    }

    static func team(_ server: RunningServer) throws -> Team {
        let agent = try TestAgent()
        let lead = try server.createWorkspace("lead")
        let member = try server.createWorkspace("member", parent: lead)
        let registered = try server.send("POST", "/registry/register", #"{"id":"\#(lead)","url":"\#(agent.url)","agent_card":{"name":"lead"}}"#).object()
        return Team(server: server, agent: agent, lead: lead, leadToken: try #require(registered["auth_token"] as? String),
                    leadSecret: try #require(registered["platform_inbound_secret"] as? String),
                    member: member, memberToken: try server.registerPoll(member))
    }

    @Test func messagesFlowBothWaysPushAndPoll() async throws {
        let server = try await RunningServer()
        let team = try Self.team(server)

        // Poll-mode member -> push-mode lead: proxied with the lead's inbound secret.
        let reply = try server.send("POST", "/workspaces/\(team.lead)/a2a", a2aBody("status?"), token: team.memberToken, headers: ["X-Workspace-ID": team.member])
        #expect(reply.status == 200, "\(reply.text)")
        let parts = ((try reply.object()["result"] as? [String: Any])?["parts"] as? [[String: Any]])
        #expect(parts?.first?["text"] as? String == "echo: status?")
        let seen = try #require(team.agent.requests.first)
        #expect(seen.authorization == "Bearer \(team.leadSecret)")
        #expect(seen.caller == team.member)
        let logged = try server.send("GET", "/workspaces/\(team.lead)/activity?type=a2a_receive", token: team.leadToken).array()
        #expect(logged.first?["source_id"] as? String == team.member)
        #expect(logged.first?["method"] as? String == "message/send")
        #expect(logged.first?["response_body"] != nil)

        // Push-mode lead -> poll-mode member: stored, answered queued, read from the inbox with cursors.
        let queued = try server.send("POST", "/workspaces/\(team.member)/a2a", a2aBody("please triage"), token: team.leadToken, headers: ["X-Workspace-ID": team.lead])
        #expect(queued.status == 200)
        let envelope = try queued.object()
        #expect(envelope["status"] as? String == "queued" && envelope["delivery_mode"] as? String == "poll" && envelope["method"] as? String == "message/send")
        let inbox = try server.send("GET", "/workspaces/\(team.member)/activity?type=a2a_receive&since_secs=600", token: team.memberToken).array()
        let first = try #require(inbox.first)
        #expect(first["source_id"] as? String == team.lead)
        let text = (((first["request_body"] as? [String: Any])?["params"] as? [String: Any])?["message"] as? [String: Any]).flatMap {
            ($0["parts"] as? [[String: Any]])?.first?["text"] as? String }
        #expect(text == "please triage")
        let cursor = try #require(first["id"] as? String)
        #expect(try server.send("POST", "/workspaces/\(team.member)/a2a", a2aBody("second"), token: team.leadToken).status == 200)
        let newer = try server.send("GET", "/workspaces/\(team.member)/activity?type=a2a_receive&since_id=\(cursor)", token: team.memberToken).array()
        #expect(newer.count == 1)

        // Refusals.
        let (stranger, strangerToken) = try server.agent("stranger")
        let denied = try server.send("POST", "/workspaces/\(team.lead)/a2a", a2aBody("hi"), token: strangerToken, headers: ["X-Workspace-ID": stranger])
        #expect(denied.status == 403)
        #expect(denied.errorBody?.error.contains("cannot communicate") == true)
        #expect(try server.send("POST", "/workspaces/\(team.lead)/a2a", a2aBody("hi")).status == 401)
        #expect(try server.send("POST", "/workspaces/\(team.lead)/a2a", a2aBody("hi"), token: team.memberToken, headers: ["X-Workspace-ID": team.lead]).status == 401)
        for body in ["{", "[1]", #"{"method":"message/send","params":3}"#, #"{"method":7,"params":{}}"#] {
            let bad = try server.send("POST", "/workspaces/\(team.lead)/a2a", body, token: team.memberToken)
            #expect(bad.status == 400, "\(body): \(bad.text)")
            #expect(bad.errorBody != nil)
        }
        let huge = try server.send("POST", "/workspaces/\(team.lead)/a2a", a2aBody(String(repeating: "y", count: 5 << 20)), token: team.memberToken)
        #expect(huge.status == 413)
        #expect(team.agent.requests.count == 1, "refused messages never reach the agent")
    }

    /// An agent that goes silent is cut off by the idle timeout, and a reply above the cap
    /// is refused, each with the reference's status and code; the next message goes through.
    @Test func aSilentAgentTimesOutAndAnOversizedReplyIsRefused() async throws {
        let server = try await RunningServer(extra: ["A2A_IDLE_TIMEOUT_SECONDS": "1", "A2A_MAX_RESPONSE_BYTES": "1024"])
        let team = try Self.team(server)
        let caller = ["X-Workspace-ID": team.member]

        team.agent.hold()
        let started = ContinuousClock.now
        let silent = try server.send("POST", "/workspaces/\(team.lead)/a2a", a2aBody("anyone there?"), token: team.memberToken,
                                     headers: caller, timeout: .seconds(60))
        let waited = ContinuousClock.now - started
        team.agent.release()
        #expect(silent.status == 504, "\(silent.text)")
        #expect(silent.errorBody?.code == "agent_timeout")
        // 1 s of silence, with room for a loaded machine; the default would be 120 s.
        #expect(waited < .seconds(30))

        // The agent echoes the text back, so 2 KiB of it makes a reply over the 1 KiB cap.
        let oversized = try server.send("POST", "/workspaces/\(team.lead)/a2a", a2aBody(String(repeating: "z", count: 2048)),
                                        token: team.memberToken, headers: caller, timeout: .seconds(60))
        #expect(oversized.status == 502, "\(oversized.text)")
        #expect(oversized.errorBody?.code == "too_large")
        #expect(oversized.text.contains("zzzz") == false)

        let fine = try server.send("POST", "/workspaces/\(team.lead)/a2a", a2aBody("still there?"), token: team.memberToken,
                                   headers: caller, timeout: .seconds(60))
        #expect(fine.status == 200, "\(fine.text)")
        #expect(try await team.agent.waitForRequests(3).map(\.text) == ["anyone there?", String(repeating: "z", count: 2048), "still there?"])
    }

    /// An agent that keeps sending a byte now and then never trips the idle timeout; the
    /// whole-exchange timeout (`A2A_TIMEOUT_SECONDS`) still ends it.
    @Test func aTricklingAgentIsCutOffByTheWholeExchangeTimeout() async throws {
        let server = try await RunningServer(extra: ["A2A_TIMEOUT_SECONDS": "2", "A2A_IDLE_TIMEOUT_SECONDS": "60"])
        let team = try Self.team(server)
        team.agent.trickle()
        let started = ContinuousClock.now
        let cut = try server.send("POST", "/workspaces/\(team.lead)/a2a", a2aBody("long story"), token: team.memberToken,
                                  headers: ["X-Workspace-ID": team.member], timeout: .seconds(60))
        let waited = ContinuousClock.now - started
        #expect(cut.status == 504, "\(cut.text)")
        #expect(cut.errorBody?.code == "agent_timeout")
        // 2 s, with room for a loaded machine; the trickle alone would last 120 s.
        #expect(waited >= .seconds(2) && waited < .seconds(30), "\(waited)")
        let pool = server.database.pool()
        let slots = try await pool.query("SELECT active_tasks FROM public.workspaces WHERE id = $1", [team.lead])
        #expect(try slots.rows[0].decode(Int.self, at: 0) == 0, "the slot came back")
        await pool.shutdown()
    }

    @Test func aBusyTargetQueuesAndDrainsInOrder() async throws {
        let server = try await RunningServer(extra: ["A2A_QUEUE_DRAIN_INTERVAL_MS": "50"])
        let team = try Self.team(server)
        team.agent.hold()
        // The first message takes the lead's only slot (max_concurrent_tasks = 1) and waits.
        let port = server.port, lead = team.lead, token = team.memberToken
        let first = Task.detached { try TestHTTP.request("POST", port: port, path: "/workspaces/\(lead)/a2a", body: Data(a2aBody("one").utf8),
                                                         headers: ["Authorization": "Bearer \(token)"], timeout: .seconds(120)) }
        _ = try await team.agent.waitForRequests(1)
        var queueIDs: [String] = []
        for (index, text) in ["two", "three"].enumerated() {
            let queued = try server.send("POST", "/workspaces/\(team.lead)/a2a", a2aBody(text), token: team.memberToken)
            #expect(queued.status == 202, "\(queued.text)")
            let body = try queued.object()
            #expect(body["queued"] as? Bool == true)
            #expect(body["queue_depth"] as? Int == index + 1)
            queueIDs.append(try #require(body["queue_id"] as? String))
        }
        let pending = try server.send("GET", "/workspaces/\(team.lead)/a2a/queue/\(queueIDs[0])", token: team.memberToken).object()
        #expect(pending["status"] as? String == "queued")
        let stranger = try server.createWorkspace("stranger")
        #expect(try server.send("GET", "/workspaces/\(team.lead)/a2a/queue/\(queueIDs[0])", token: try server.registerPoll(stranger)).status == 403)

        team.agent.release()
        #expect(try await first.value.status == 200)
        let all = try await team.agent.waitForRequests(3)
        #expect(all.map(\.text) == ["one", "two", "three"])
        for id in queueIDs {
            var status: [String: Any] = [:]
            for _ in 0..<600 {
                status = try server.send("GET", "/workspaces/\(team.lead)/a2a/queue/\(id)", token: team.memberToken).object()
                if status["status"] as? String == "completed" { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(status["status"] as? String == "completed")
            #expect((status["response_body"] as? [String: Any])?["result"] != nil)
        }
    }

    @Test func queuedMessagesSurviveARestartAndAreDeliveredOnce() async throws {
        let first = try await RunningServer(extra: ["A2A_QUEUE_DRAIN_INTERVAL_MS": "50"])
        let team = try Self.team(first)
        // The agent reports itself busy, so messages wait in the queue.
        #expect(try first.send("POST", "/registry/heartbeat", #"{"workspace_id":"\#(team.lead)","active_tasks":1}"#, token: team.leadToken).status == 200)
        for text in ["a", "b", "c"] {
            #expect(try first.send("POST", "/workspaces/\(team.lead)/a2a", a2aBody(text), token: team.memberToken).status == 202)
        }
        #expect(first.stop().status == 0)
        let second = try await RunningServer(adminToken: first.adminToken, database: first.database, extra: ["A2A_QUEUE_DRAIN_INTERVAL_MS": "50"])
        #expect(team.agent.requests.isEmpty)
        #expect(try second.send("POST", "/registry/heartbeat", #"{"workspace_id":"\#(team.lead)","active_tasks":0}"#, token: team.leadToken).status == 200)
        let delivered = try await team.agent.waitForRequests(3)
        #expect(delivered.map(\.text) == ["a", "b", "c"])
        // Nothing more arrives: each message went out exactly once.
        try await Task.sleep(for: .seconds(1))
        #expect(team.agent.requests.count == 3)
        let pool = first.database.pool()
        let states = try await pool.query("SELECT status FROM public.a2a_queue ORDER BY enqueued_at").rows.map { try $0.decode(String.self, at: 0) }
        #expect(states == ["completed", "completed", "completed"])
        await pool.shutdown()
        withExtendedLifetime(first) {}
    }

    /// A server killed while an agent works on a queued message: whether the agent got it
    /// is unknown, so it is failed (with that reason), never sent twice, and its capacity
    /// slot comes back, so the next message still goes out.
    @Test func aQueuedMessageCutOffMidDeliveryByAKilledServerIsFailedNotSentTwice() async throws {
        let drain = ["A2A_QUEUE_DRAIN_INTERVAL_MS": "50"]
        let first = try await RunningServer(extra: drain)
        let team = try Self.team(first)
        #expect(try first.send("POST", "/registry/heartbeat", #"{"workspace_id":"\#(team.lead)","active_tasks":1}"#, token: team.leadToken).status == 200)
        var ids: [String] = []
        for text in ["cut off", "after"] {
            let queued = try first.send("POST", "/workspaces/\(team.lead)/a2a", a2aBody(text), token: team.memberToken)
            #expect(queued.status == 202, "\(queued.text)")
            ids.append(try #require(try queued.object()["queue_id"] as? String))
        }
        team.agent.hold()
        #expect(try first.send("POST", "/registry/heartbeat", #"{"workspace_id":"\#(team.lead)","active_tasks":0}"#, token: team.leadToken).status == 200)
        #expect(try await team.agent.waitForRequests(1).map(\.text) == ["cut off"])
        first.process.signal(SIGKILL)
        _ = first.stop()
        team.agent.release()

        let pool = first.database.pool()
        let left = try await pool.query("SELECT status FROM public.a2a_queue WHERE id = $1", [ids[0]]).rows[0].decode(String.self, at: 0)
        #expect(left == "dispatched", "the killed server left its delivery behind")
        // The delivery timeout and its margin have passed (the sweep waits that long).
        try await pool.query("UPDATE public.a2a_queue SET dispatched_at = now() - interval '1 hour' WHERE id = $1", [ids[0]])
        let second = try await RunningServer(adminToken: first.adminToken, database: first.database, extra: drain)
        let delivered = try await team.agent.waitForRequests(2)
        #expect(delivered.map(\.text) == ["cut off", "after"])
        var cutOff: [String: Any] = [:]
        for _ in 0..<200 {
            cutOff = try second.send("GET", "/workspaces/\(team.lead)/a2a/queue/\(ids[0])", token: team.memberToken).object()
            if cutOff["status"] as? String != "dispatched" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(cutOff["status"] as? String == "failed", "\(cutOff)")
        #expect((cutOff["last_error"] as? String)?.contains("outcome unknown") == true, "\(cutOff)")
        try await Task.sleep(for: .seconds(1))
        #expect(team.agent.requests.count == 2, "nothing was sent twice")
        let slots = try await pool.query("SELECT active_tasks FROM public.workspaces WHERE id = $1", [team.lead]).rows[0].decode(Int.self, at: 0)
        #expect(slots == 0, "both slots came back")
        await pool.shutdown()
        withExtendedLifetime(first) {}
    }

    @Test func deliveryRefusesBlockedAddressesEvenIfTheURLChangedUnderneath() async throws {
        let server = try await RunningServer()
        let team = try Self.team(server)
        let pool = server.database.pool()
        for (url, fragment) in [("http://169.254.169.254/latest/meta-data", "blocked"), ("http://10.1.2.3:8000/", "RFC-1918"),
                                ("http://[::1]:9/", "loopback"), ("http://metadata.google.internal/", "metadata"),
                                ("https://10.1.2.3:8443/", "RFC-1918"), ("https://[::1]:9/", "loopback"),
                                ("https://169.254.169.254/", "blocked")] {
            try await pool.query("UPDATE public.workspaces SET url = $2 WHERE id = $1", [team.lead, url])
            let refused = try server.send("POST", "/workspaces/\(team.lead)/a2a", a2aBody("x"), token: team.memberToken)
            #expect(refused.status == 502, "\(url): \(refused.text)")
            #expect(refused.errorBody?.error.contains(fragment) == true, "\(url): \(refused.text)")
        }
        let slots = try await pool.query("SELECT active_tasks FROM public.workspaces WHERE id = $1", [team.lead]).rows[0].decode(Int.self, at: 0)
        #expect(slots == 0, "every refused delivery gives its slot back")
        await pool.shutdown()
        #expect(team.agent.requests.isEmpty)
    }
}
