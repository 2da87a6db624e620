import Foundation
import Postgres
import TestSupport
import Testing

/// Events through Redis pub/sub: emitted on one replica, streamed by another.
@Suite("Events, notify and broadcast")
struct EventsTests {
    @Test func aNotifyOnOneReplicaReachesAnSSEStreamOnAnother() async throws {
        // A channel of this test's own, shared by its two replicas.
        let channel = ["EVENTS_CHANNEL": "events:test-" + UUID().uuidString]
        let first = try await RunningServer(extra: channel)
        let second = try await RunningServer(adminToken: first.adminToken, database: first.database, extra: channel)
        let lead = try first.createWorkspace("lead")
        let (member, token) = try first.agent("member", parent: lead)
        let leadToken = try first.registerPoll(lead)

        let stream = try StreamingClient(port: second.port, path: "/workspaces/\(member)/events/stream", headers: ["Authorization": "Bearer \(token)"])
        #expect(stream.status == 200)
        #expect(try stream.next { $0 == ": ping" } != nil, "the stream opens with a keep-alive comment")

        let sent = try first.send("POST", "/workspaces/\(member)/notify", #"{"message":"build is green","attachments":[{"uri":"workspace:/out/report.md","name":"report.md","mimeType":"text/markdown"}]}"#, token: token)
        #expect(sent.status == 200, "\(sent.text)")
        #expect(try sent.object()["status"] as? String == "sent")
        let event = try #require(try stream.nextEvent())
        #expect(event["type"] as? String == "AGENT_MESSAGE")
        #expect(event["timestamp"] is Int)
        let data = try #require(event["data"] as? [String: Any])
        #expect(data["message"] as? String == "build is green")
        #expect(data["workspace_id"] as? String == member)
        #expect(data["name"] as? String == "member")
        #expect((data["attachments"] as? [[String: Any]])?.first?["name"] as? String == "report.md")

        // Stored where the reference stores them, and in the agent's inbox.
        let stored = try first.send("GET", "/events/\(member)", token: first.adminToken).array()
        #expect(stored.first?["event_type"] as? String == "AGENT_MESSAGE")
        let inbox = try first.send("GET", "/workspaces/\(member)/activity?type=a2a_receive", token: token).array()
        #expect(inbox.first?["method"] as? String == "notify")
        #expect((inbox.first?["response_body"] as? [String: Any])?["result"] as? String == "build is green")

        // Refusals: no token, another workspace's token, an unknown workspace, a workspace token on /events.
        #expect(try first.send("GET", "/workspaces/\(member)/events/stream").status == 401)
        #expect(try first.send("GET", "/workspaces/\(member)/events/stream", token: leadToken).status == 401)
        #expect(try first.send("GET", "/workspaces/\(UUID().uuidString.lowercased())/events/stream", token: first.adminToken).status == 404)
        #expect(try first.send("GET", "/events", token: token).status == 401)
        #expect(try first.send("POST", "/workspaces/\(member)/notify", #"{"message":"x"}"#, token: leadToken).status == 401)
        for (body, fragment) in [(#"{}"#, "message"), (#"{"message":"  "}"#, "message"), (#"{"message":"x","attachments":[{"uri":"","name":"a"}]}"#, "attachment[0]")] {
            let refused = try first.send("POST", "/workspaces/\(member)/notify", body, token: token)
            #expect(refused.status == 400)
            #expect(refused.errorBody?.error.contains(fragment) == true, "\(refused.text)")
        }

        // Talking to the user can be turned off by the admin: 403 talk_to_user_disabled.
        #expect(try first.send("PATCH", "/workspaces/\(member)/abilities", #"{"talk_to_user_enabled":false}"#, token: token).status == 401)
        #expect(try first.send("PATCH", "/workspaces/\(member)/abilities", #"{"talk_to_user_enabled":false}"#, token: first.adminToken).status == 200)
        let silenced = try first.send("POST", "/workspaces/\(member)/notify", #"{"message":"hello?"}"#, token: token)
        #expect(silenced.status == 403)
        #expect(silenced.errorBody?.error == "talk_to_user_disabled")

        // SIGTERM with a stream attached: the stream ends and the server exits cleanly.
        let outcome = second.stop()
        #expect(outcome.status == 0, "\(outcome.stderr.suffix(1500))")
        #expect(try stream.next { _ in false } == nil)
        withExtendedLifetime(first) {}
    }

    @Test func idleStreamsGetKeepAlives() async throws {
        let server = try await RunningServer(extra: ["SSE_KEEPALIVE_SECONDS": "1"])
        let (id, token) = try server.agent("idle")
        let stream = try StreamingClient(port: server.port, path: "/workspaces/\(id)/events/stream", headers: ["Authorization": "Bearer \(token)"])
        for _ in 0..<3 { #expect(try stream.next { $0 == ": ping" } != nil) }
    }

    @Test func broadcastReachesTheWholeOrgOnlyWhenEnabled() async throws {
        let server = try await RunningServer()
        let root = try server.createWorkspace("root")
        let sender = try server.createWorkspace("sender", parent: root)
        let sibling = try server.createWorkspace("sibling", parent: root)
        let nephew = try server.createWorkspace("nephew", parent: sibling)
        let stranger = try server.createWorkspace("stranger")
        let token = try server.registerPoll(sender)
        let nephewToken = try server.registerPoll(nephew)
        let strangerToken = try server.registerPoll(stranger)

        let refused = try server.send("POST", "/workspaces/\(sender)/broadcast", #"{"message":"all hands"}"#, token: token)
        #expect(refused.status == 403)
        #expect(refused.errorBody?.error == "broadcast_disabled")
        #expect(try server.send("PATCH", "/workspaces/\(sender)/abilities", #"{"broadcast_enabled":true}"#, token: server.adminToken).status == 200)
        #expect(try server.send("PATCH", "/workspaces/\(sender)/abilities", #"{}"#, token: server.adminToken).status == 400)

        let stream = try StreamingClient(port: server.port, path: "/workspaces/\(nephew)/events/stream", headers: ["Authorization": "Bearer \(nephewToken)"])
        let sent = try server.send("POST", "/workspaces/\(sender)/broadcast", #"{"message":"all hands"}"#, token: token)
        #expect(sent.status == 200, "\(sent.text)")
        #expect(try sent.object()["delivered"] as? Int == 3)
        let event = try #require(try stream.nextEvent())
        #expect(event["type"] as? String == "BROADCAST_MESSAGE")
        #expect((event["data"] as? [String: Any])?["sender_id"] as? String == sender)

        let received = try server.send("GET", "/workspaces/\(nephew)/activity?type=broadcast_receive", token: nephewToken).array()
        #expect(received.count == 1 && received.first?["source_id"] as? String == sender)
        #expect(try server.send("GET", "/workspaces/\(stranger)/activity?type=broadcast_receive", token: strangerToken).array().isEmpty)
        #expect(try server.send("GET", "/workspaces/\(sender)/activity?type=broadcast_sent", token: token).array().count == 1)
        #expect(try server.send("POST", "/workspaces/\(sender)/broadcast", #"{"message":""}"#, token: token).status == 400)
    }

    @Test func aConsumerThatStopsReadingIsDroppedNotBuffered() async throws {
        // A private channel, so the flood does not reach the suite's other servers.
        let server = try await RunningServer(extra: ["EVENTS_CHANNEL": "events:test-" + UUID().uuidString])
        let (id, token) = try server.agent("flood")
        let stream = try StreamingClient(port: server.port, path: "/workspaces/\(id)/events/stream", headers: ["Authorization": "Bearer \(token)"])
        #expect(stream.status == 200)
        // 600 events of 64 KiB (about 40 MB) to a client that reads nothing meanwhile: far more
        // than socket buffers plus the 256-event subscriber buffer hold.
        let message = String(repeating: "x", count: 64 * 1024)
        for _ in 0..<600 {
            #expect(try server.send("POST", "/workspaces/\(id)/notify", #"{"message":"\#(message)"}"#, token: token).status == 200)
        }
        var received = 0
        while try stream.nextEvent() != nil { received += 1 }
        // The server ended the stream after what it had buffered, instead of queueing all 600.
        #expect(received < 600)
        #expect(received > 0)
        let outcome = server.stop()
        #expect(outcome.stderr.contains("dropping a slow event subscriber"))
    }

    @Test func eventsPastTheRetentionArePrunedInBatchesAtBoot() async throws {
        // EVENTS_RETENTION=0: this server keeps every event; it only creates the schema here.
        let keeping = try await RunningServer(extra: ["EVENTS_RETENTION": "0"])
        let pool = keeping.database.pool()
        let workspace = UUID().uuidString.lowercased()
        // More old events than one batch (5000), so the janitor has to loop.
        try await pool.query("""
            INSERT INTO public.structure_events (event_type, workspace_id, payload, created_at)
            SELECT 'AGENT_MESSAGE', $1, '{}'::jsonb, now() - interval '8 days' - make_interval(secs => g) FROM generate_series(1, 12000) g
            """, [workspace])
        try await pool.query("""
            INSERT INTO public.structure_events (event_type, workspace_id, payload, created_at)
            SELECT 'AGENT_MESSAGE', $1, '{}'::jsonb, now() - make_interval(days => g) FROM generate_series(0, 6) g
            """, [workspace])
        #expect(keeping.stop().status == 0)
        func count(_ condition: String) async throws -> Int {
            try await pool.query("SELECT count(*) FROM public.structure_events WHERE workspace_id = $1 AND \(condition)", [workspace])
                .rows[0].decode(Int.self, at: 0)
        }
        #expect(try await count("created_at < now() - interval '7 days'") == 12000, "EVENTS_RETENTION=0 deleted nothing")

        let pruning = try await RunningServer(adminToken: keeping.adminToken, database: keeping.database, extra: ["EVENTS_RETENTION": "7d"])
        var old = -1
        for _ in 0..<600 {
            old = try await count("created_at < now() - interval '7 days'")
            if old == 0 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(old == 0, "the boot pass deleted every event older than 7 days")
        #expect(try await count("created_at >= now() - interval '7 days'") == 7, "newer events are kept")
        #expect(pruning.stop().stderr.contains("pruned old events"))
        await pool.shutdown()

        let refused = try MoleculeTenantBinary.run(["server", "--config", "/dev/null"], environment: [
            "DATABASE_URL": "postgres://127.0.0.1:1/none", "EVENTS_RETENTION": "30s",
        ])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("EVENTS_RETENTION must be 0 (keep events forever) or at least 1m"), "\(refused.stderr)")
    }
}
