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
        let stranger = try server.createWorkspace("stranger")
        let strangerToken = try server.registerPoll(stranger)
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
}
