import Foundation
import Postgres
import TestSupport
import Testing

/// Delegation as the runtime drives it: POST /delegate, then the heartbeat polls
/// GET /delegations until the row is completed or failed.
@Suite("Delegation")
struct DelegationTests {
    /// Polls the source's /delegations (as the heartbeat does) until the delegation is terminal.
    static func awaitTerminal(_ server: RunningServer, source: String, token: String, id: String) async throws -> [String: Any] {
        for _ in 0..<600 {
            let rows = try server.send("GET", "/workspaces/\(source)/delegations", token: token).array()
            if let row = rows.first(where: { $0["delegation_id"] as? String == id }),
               let status = row["status"] as? String, status == "completed" || status == "failed" {
                return row
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestSupportError("delegation \(id) never finished")
    }

    @Test func aDelegationRoundTripsAndItsResultReachesTheSource() async throws {
        let server = try await RunningServer()
        let team = try A2ATests.team(server)
        let stream = try StreamingClient(port: server.port, path: "/workspaces/\(team.member)/events/stream", headers: ["Authorization": "Bearer \(team.memberToken)"])

        let body = #"{"target_id":"\#(team.lead)","task":"summarise the logs","idempotency_key":"k-1"}"#
        let accepted = try server.send("POST", "/workspaces/\(team.member)/delegate", body, token: team.memberToken)
        #expect(accepted.status == 202, "\(accepted.text)")
        let id = try #require(try accepted.object()["delegation_id"] as? String)
        #expect(try accepted.object()["status"] as? String == "delegated")
        let again = try server.send("POST", "/workspaces/\(team.member)/delegate", body, token: team.memberToken)
        #expect(again.status == 200)
        #expect(try again.object()["delegation_id"] as? String == id)
        #expect(try again.object()["idempotent_hit"] as? Bool == true)

        let row = try await Self.awaitTerminal(server, source: team.member, token: team.memberToken, id: id)
        #expect(row["status"] as? String == "completed")
        #expect(row["source_id"] as? String == team.member)
        #expect(row["target_id"] as? String == team.lead)
        #expect(row["direction"] as? String == "sent")
        #expect(row["response_preview"] as? String == "echo: summarise the logs")
        #expect(team.agent.requests.map(\.text) == ["summarise the logs"], "the idempotent retry sent nothing more")
        let received = try server.send("GET", "/workspaces/\(team.lead)/delegations", token: team.leadToken).array()
        #expect(received.first?["direction"] as? String == "received")

        var seen: [String] = []
        while seen.last != "DELEGATION_COMPLETE", let event = try stream.nextEvent() { seen.append(event["type"] as? String ?? "") }
        #expect(seen.contains("DELEGATION_SENT") && seen.contains("DELEGATION_STATUS") && seen.last == "DELEGATION_COMPLETE")
        let results = try server.send("GET", "/workspaces/\(team.member)/activity?type=delegation", token: team.memberToken).array()
        #expect(Set(results.compactMap { $0["method"] as? String }) == ["delegate", "delegate_result"])
    }

    /// A poll-mode target has no URL: the task waits in its inbox (an `a2a_receive` row),
    /// the target answers the source with an A2A message, and the source, the only one
    /// allowed to, settles the delegation with `/update`.
    @Test func aDelegationToAPollModeAgentWaitsInItsInboxAndTheSourceSettlesIt() async throws {
        let server = try await RunningServer()
        let team = try A2ATests.team(server)
        let accepted = try server.send("POST", "/workspaces/\(team.lead)/delegate", #"{"target_id":"\#(team.member)","task":"triage ticket 7"}"#, token: team.leadToken)
        #expect(accepted.status == 202, "\(accepted.text)")
        let id = try #require(try accepted.object()["delegation_id"] as? String)
        var row: [String: Any] = [:]
        for _ in 0..<600 {
            row = try server.send("GET", "/workspaces/\(team.lead)/delegations", token: team.leadToken).array().first(where: { $0["delegation_id"] as? String == id }) ?? [:]
            if row["status"] as? String == "dispatched" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(row["status"] as? String == "dispatched", "a poll-mode target's delegation waits for its report: \(row)")

        // The target's inbox holds the task once, with the delegation id to answer to.
        let inbox = try server.send("GET", "/workspaces/\(team.member)/activity?type=a2a_receive&since_secs=600", token: team.memberToken).array()
        #expect(inbox.count == 1)
        let message = try #require(((inbox.first?["request_body"] as? [String: Any])?["params"] as? [String: Any])?["message"] as? [String: Any])
        #expect((message["parts"] as? [[String: Any]])?.first?["text"] as? String == "triage ticket 7")
        #expect((message["metadata"] as? [String: Any])?["delegation_id"] as? String == id)
        #expect(inbox.first?["source_id"] as? String == team.lead)
        let cursor = try #require(inbox.first?["id"] as? String)
        #expect(try server.send("GET", "/workspaces/\(team.member)/activity?type=a2a_receive&since_id=\(cursor)", token: team.memberToken).array().isEmpty)

        // The answer goes to the source as a message; the target cannot settle the delegation itself.
        let answer = try server.send("POST", "/workspaces/\(team.lead)/a2a", a2aBody("ticket 7: duplicate of 3"), token: team.memberToken, headers: ["X-Workspace-ID": team.member])
        #expect(answer.status == 200, "\(answer.text)")
        #expect(team.agent.requests.map(\.text) == ["ticket 7: duplicate of 3"])
        let byTarget = try server.send("POST", "/workspaces/\(team.member)/delegations/\(id)/update", #"{"status":"completed"}"#, token: team.memberToken)
        #expect(byTarget.status == 404, "\(byTarget.text)")
        let settled = try server.send("POST", "/workspaces/\(team.lead)/delegations/\(id)/update",
                                      #"{"status":"completed","response_preview":"duplicate of 3"}"#, token: team.leadToken)
        #expect(settled.status == 200, "\(settled.text)")
        let done = try await Self.awaitTerminal(server, source: team.lead, token: team.leadToken, id: id)
        #expect(done["status"] as? String == "completed")
        #expect(done["response_preview"] as? String == "duplicate of 3")
        let received = try server.send("GET", "/workspaces/\(team.member)/delegations", token: team.memberToken).array()
        #expect(received.first?["direction"] as? String == "received" && received.first?["delegation_id"] as? String == id)
    }

    @Test func aDelegationToABusyTargetWaitsInTheQueueAndStillCompletes() async throws {
        let server = try await RunningServer(extra: ["A2A_QUEUE_DRAIN_INTERVAL_MS": "50"])
        let team = try A2ATests.team(server)
        #expect(try server.send("POST", "/registry/heartbeat", #"{"workspace_id":"\#(team.lead)","active_tasks":1}"#, token: team.leadToken).status == 200)
        let accepted = try server.send("POST", "/workspaces/\(team.member)/delegate", #"{"target_id":"\#(team.lead)","task":"later"}"#, token: team.memberToken)
        let id = try #require(try accepted.object()["delegation_id"] as? String)
        for _ in 0..<600 {
            let rows = try server.send("GET", "/workspaces/\(team.member)/delegations", token: team.memberToken).array()
            if rows.first?["status"] as? String == "queued" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(try server.send("GET", "/workspaces/\(team.member)/delegations", token: team.memberToken).array().first?["status"] as? String == "queued")
        #expect(try server.send("POST", "/registry/heartbeat", #"{"workspace_id":"\#(team.lead)","active_tasks":0}"#, token: team.leadToken).status == 200)
        let row = try await Self.awaitTerminal(server, source: team.member, token: team.memberToken, id: id)
        #expect(row["status"] as? String == "completed")
        #expect(row["response_preview"] as? String == "echo: later")
    }

    @Test func anUnreachableTargetFailsTheDelegationWithAReason() async throws {
        let server = try await RunningServer(extra: ["A2A_TIMEOUT_SECONDS": "20"])
        let team = try A2ATests.team(server)
        let pool = server.database.pool()
        try await pool.query("UPDATE public.workspaces SET url = $2 WHERE id = $1", [team.lead, "http://localhost:\(freeTCPPort())/"])
        await pool.shutdown()
        let accepted = try server.send("POST", "/workspaces/\(team.member)/delegate", #"{"target_id":"\#(team.lead)","task":"x"}"#, token: team.memberToken)
        let id = try #require(try accepted.object()["delegation_id"] as? String)
        let row = try await Self.awaitTerminal(server, source: team.member, token: team.memberToken, id: id)
        #expect(row["status"] as? String == "failed")
        #expect((row["error"] as? String)?.contains("unreachable") == true)
        #expect(row["error_detail"] as? String == row["error"] as? String)
    }

    /// The runtime derives its key from (source, target, task), so a retry after a failure
    /// carries the same key: it must be carried out, not answered with the failed one.
    @Test func aFailedDelegationGivesUpItsIdempotencyKeySoTheRetryRuns() async throws {
        let server = try await RunningServer(extra: ["A2A_TIMEOUT_SECONDS": "20"])
        let team = try A2ATests.team(server)
        let pool = server.database.pool()
        try await pool.query("UPDATE public.workspaces SET url = $2 WHERE id = $1", [team.lead, "http://localhost:\(freeTCPPort())/"])
        let body = #"{"target_id":"\#(team.lead)","task":"retry me","idempotency_key":"k-retry"}"#
        let first = try server.send("POST", "/workspaces/\(team.member)/delegate", body, token: team.memberToken)
        let failedID = try #require(try first.object()["delegation_id"] as? String)
        #expect(try await Self.awaitTerminal(server, source: team.member, token: team.memberToken, id: failedID)["status"] as? String == "failed")

        try await pool.query("UPDATE public.workspaces SET url = $2 WHERE id = $1", [team.lead, team.agent.url])
        await pool.shutdown()
        let retry = try server.send("POST", "/workspaces/\(team.member)/delegate", body, token: team.memberToken)
        #expect(retry.status == 202, "\(retry.text)")
        let retryID = try #require(try retry.object()["delegation_id"] as? String)
        #expect(retryID != failedID)
        let done = try await Self.awaitTerminal(server, source: team.member, token: team.memberToken, id: retryID)
        #expect(done["status"] as? String == "completed" && done["response_preview"] as? String == "echo: retry me")
        // The key now belongs to the live delegation, and the failed one stays in the history.
        let again = try server.send("POST", "/workspaces/\(team.member)/delegate", body, token: team.memberToken)
        #expect(try again.status == 200 && again.object()["delegation_id"] as? String == retryID, "\(again.text)")
        let history = try server.send("GET", "/workspaces/\(team.member)/delegations", token: team.memberToken).array()
        #expect(Set(history.compactMap { $0["delegation_id"] as? String }) == [failedID, retryID])
        #expect(team.agent.requests.map(\.text) == ["retry me"])
    }

    @Test func agentsRecordTheirOwnDelegationsAndReportResults() async throws {
        let server = try await RunningServer()
        let team = try A2ATests.team(server)
        let id = UUID().uuidString.lowercased()
        let recorded = try server.send("POST", "/workspaces/\(team.member)/delegations/record",
                                       #"{"target_id":"\#(team.lead)","task":"direct","delegation_id":"\#(id)"}"#, token: team.memberToken)
        #expect(recorded.status == 202, "\(recorded.text)")
        #expect(try recorded.object()["status"] as? String == "recorded")
        #expect(try server.send("GET", "/workspaces/\(team.member)/delegations", token: team.memberToken).array().first?["status"] as? String == "dispatched")

        #expect(try server.send("POST", "/workspaces/\(team.member)/delegations/\(id)/update", #"{"status":"running"}"#, token: team.memberToken).status == 400)
        #expect(try server.send("POST", "/workspaces/\(team.member)/delegations/\(id)/update", #"{"status":"completed"}"#, token: team.leadToken).status == 401)
        #expect(try server.send("POST", "/workspaces/\(team.lead)/delegations/\(id)/update", #"{"status":"completed"}"#, token: team.leadToken).status == 404)
        let updated = try server.send("POST", "/workspaces/\(team.member)/delegations/\(id)/update", #"{"status":"completed","response_preview":"done"}"#, token: team.memberToken)
        #expect(updated.status == 200)
        let row = try #require(try server.send("GET", "/workspaces/\(team.member)/delegations", token: team.memberToken).array().first)
        #expect(row["status"] as? String == "completed" && row["response_preview"] as? String == "done")
        // A late failure report does not undo a finished delegation.
        #expect(try server.send("POST", "/workspaces/\(team.member)/delegations/\(id)/update", #"{"status":"failed","error":"late"}"#, token: team.memberToken).status == 200)
        #expect(try server.send("GET", "/workspaces/\(team.member)/delegations", token: team.memberToken).array().first?["status"] as? String == "completed")
    }

    @Test func delegationRefusesStrangersSelfAndBadInput() async throws {
        let server = try await RunningServer()
        let team = try A2ATests.team(server)
        let (stranger, strangerToken) = try server.agent("stranger")
        let denied = try server.send("POST", "/workspaces/\(stranger)/delegate", #"{"target_id":"\#(team.lead)","task":"x"}"#, token: strangerToken)
        #expect(denied.status == 403)
        #expect(try server.send("POST", "/workspaces/\(team.member)/delegate", #"{"target_id":"\#(team.lead)","task":"x"}"#).status == 401)
        #expect(try server.send("POST", "/workspaces/\(team.member)/delegate", #"{"target_id":"\#(team.lead)","task":"x"}"#, token: strangerToken).status == 401)
        for (body, fragment) in [(#"{"target_id":"\#(team.member)","task":"x"}"#, "self-delegation"), (#"{"target_id":"nope","task":"x"}"#, "target_id"),
                                 (#"{"target_id":"\#(team.lead)","task":" "}"#, "task"), (#"{"task":"x"}"#, "target_id")] {
            let refused = try server.send("POST", "/workspaces/\(team.member)/delegate", body, token: team.memberToken)
            #expect(refused.status == 400, "\(body): \(refused.text)")
            #expect(refused.errorBody?.error.contains(fragment) == true, "\(body): \(refused.text)")
        }
        #expect(try server.send("POST", "/workspaces/\(team.member)/delegate", #"{"target_id":"\#(UUID().uuidString)","task":"x"}"#, token: team.memberToken).status == 404)
        #expect(team.agent.requests.isEmpty)
    }

    @Test func aDelegationCutOffByARestartFailsAtItsDeadline() async throws {
        let first = try await RunningServer()
        let team = try A2ATests.team(first)
        #expect(first.stop().status == 0)
        let pool = first.database.pool()
        try await pool.query("""
            INSERT INTO public.delegations (delegation_id, caller_id, callee_id, task_preview, status, deadline)
            VALUES ('cut-off', $1, $2, 'lost in a restart', 'dispatched', now() - interval '1 minute')
            """, [team.member, team.lead])
        await pool.shutdown()
        let second = try await RunningServer(adminToken: first.adminToken, database: first.database)
        let row = try await Self.awaitTerminal(second, source: team.member, token: team.memberToken, id: "cut-off")
        #expect(row["status"] as? String == "failed")
        #expect(row["error"] as? String == "deadline passed without a result")
        withExtendedLifetime(first) {}
    }

    /// The `DELEGATION_FAILED` events stored for one delegation.
    /// The event is stored just after the status the test saw, so it may lag a moment on
    /// a busy machine: wait for it (10 s at most), then give duplicates a moment to show.
    static func failedEvents(_ pool: PostgresPool, _ id: String) async throws -> Int {
        func count() async throws -> Int {
            try await pool.query("""
                SELECT count(*) FROM public.structure_events WHERE event_type = 'DELEGATION_FAILED' AND payload->>'delegation_id' = $1
                """, [id]).rows[0].decode(Int.self, at: 0)
        }
        let deadline = ContinuousClock.now + .seconds(10)
        while try await count() == 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        try await Task.sleep(for: .milliseconds(200))
        return try await count()
    }

    @Test func aDelegationCutOffMidDeliveryByAGracefulRestartFailsAtOnce() async throws {
        let first = try await RunningServer()
        let team = try A2ATests.team(first)
        team.agent.hold()
        defer { team.agent.release() }
        let accepted = try first.send("POST", "/workspaces/\(team.member)/delegate", #"{"target_id":"\#(team.lead)","task":"long job"}"#, token: team.memberToken)
        let id = try #require(try accepted.object()["delegation_id"] as? String)
        _ = try await team.agent.waitForRequests(1)
        #expect(first.stop().status == 0)

        // The stopping server failed it itself: the restarted one starts with the answer.
        let second = try await RunningServer(adminToken: first.adminToken, database: first.database)
        let row = try #require(try second.send("GET", "/workspaces/\(team.member)/delegations", token: team.memberToken).array()
            .first { $0["delegation_id"] as? String == id })
        #expect(row["status"] as? String == "failed")
        #expect((row["error"] as? String)?.hasPrefix("delivery interrupted: the server stopped while the agent was working on it") == true, "\(row)")
        let pool = first.database.pool()
        #expect(try await Self.failedEvents(pool, id) == 1)
        await pool.shutdown()
        #expect(team.agent.requests.count == 1, "the task was not sent again")
    }

    @Test func aDelegationWhoseServerWasKilledFailsWhenItsLeaseLapses() async throws {
        let lease = ["DELEGATION_LEASE_SECONDS": "3"]
        let first = try await RunningServer(extra: lease)
        let team = try A2ATests.team(first)
        team.agent.hold()
        defer { team.agent.release() }
        let accepted = try first.send("POST", "/workspaces/\(team.member)/delegate", #"{"target_id":"\#(team.lead)","task":"long job"}"#, token: team.memberToken)
        let id = try #require(try accepted.object()["delegation_id"] as? String)
        _ = try await team.agent.waitForRequests(1)
        first.process.signal(SIGKILL)
        _ = first.stop()
        let pool = first.database.pool()
        let left = try await pool.query("SELECT status, last_heartbeat IS NOT NULL FROM public.delegations WHERE delegation_id = $1", [id]).rows[0]
        #expect(try left.decode(String.self, at: 0) == "dispatched" && left.decode(Bool.self, at: 1), "a killed server leaves its lease behind")

        let second = try await RunningServer(adminToken: first.adminToken, database: first.database, extra: lease)
        let row = try await Self.awaitTerminal(second, source: team.member, token: team.memberToken, id: id)
        #expect(row["status"] as? String == "failed")
        #expect((row["error"] as? String)?.contains("the server delivering it stopped (no lease renewal for 3 s)") == true, "\(row)")
        #expect(try await Self.failedEvents(pool, id) == 1)
        await pool.shutdown()
        #expect(team.agent.requests.count == 1, "the task was not sent again")
    }

    @Test func delegationsStrandedByARestartAreResumedOrSettledAtBoot() async throws {
        let first = try await RunningServer()
        let team = try A2ATests.team(first)
        #expect(first.stop().status == 0)
        // What a server that died at the wrong moment leaves behind: accepted but never sent
        // (with and without its task stored), and queued with a message whose end it never recorded.
        let pool = first.database.pool()
        for id in ["never-sent", "no-task", "queue-ended"] {
            try await pool.query("""
                INSERT INTO public.delegations (delegation_id, caller_id, callee_id, task_preview, status, created_at, updated_at)
                VALUES ($1, $2, $3, 'preview', 'queued', now() - interval '1 minute', now() - interval '1 minute')
                """, [id, team.member, team.lead])
        }
        try await pool.query("""
            INSERT INTO public.activity_logs (workspace_id, activity_type, method, source_id, target_id, request_body, status)
            VALUES ($1, 'delegation', 'delegate', $1, $2, '{"task":"pick me up","delegation_id":"never-sent"}'::jsonb, 'pending')
            """, [team.member, team.lead])
        try await pool.query("""
            INSERT INTO public.a2a_queue (workspace_id, caller_id, body, method, idempotency_key, status, last_error, attempts)
            VALUES ($1, $2, '{}'::jsonb, 'message/send', 'queue-ended', 'failed', 'delivery outcome unknown: the server stopped during delivery', 1)
            """, [team.lead, team.member])

        let second = try await RunningServer(adminToken: first.adminToken, database: first.database)
        let resumed = try await Self.awaitTerminal(second, source: team.member, token: team.memberToken, id: "never-sent")
        #expect(resumed["status"] as? String == "completed", "\(resumed)")
        #expect(resumed["response_preview"] as? String == "echo: pick me up")
        let lost = try await Self.awaitTerminal(second, source: team.member, token: team.memberToken, id: "no-task")
        #expect(lost["status"] as? String == "failed")
        #expect(lost["error"] as? String == "could not be sent: the server stopped before it stored the task")
        let settled = try await Self.awaitTerminal(second, source: team.member, token: team.memberToken, id: "queue-ended")
        #expect(settled["status"] as? String == "failed")
        #expect(settled["error"] as? String == "delivery outcome unknown: the server stopped during delivery")
        #expect(team.agent.requests.map(\.text) == ["pick me up"], "only the never-sent task went out, once")
        for id in ["no-task", "queue-ended"] { #expect(try await Self.failedEvents(pool, id) == 1) }
        await pool.shutdown()
    }
}
