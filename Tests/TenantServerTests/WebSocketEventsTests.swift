import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Events over /ws")
struct WebSocketEventsTests {
    @Test func agentsSeeTheirPeersEventsAndOperatorsSeeAllFromAnotherReplica() async throws {
        let channel = ["EVENTS_CHANNEL": "events:test-" + UUID().uuidString]
        let first = try await RunningServer(extra: channel)
        let second = try await RunningServer(adminToken: first.adminToken, database: first.database, extra: channel)
        let lead = try first.createWorkspace("lead")
        let member = try first.createWorkspace("member", parent: lead)
        let stranger = try first.createWorkspace("stranger")
        let memberToken = try first.registerPoll(member)
        let strangerToken = try first.registerPoll(stranger)

        let agentSocket = try WebSocketClient(port: second.port, path: "/ws", headers: ["Authorization": "Bearer \(memberToken)", "X-Workspace-ID": member])
        #expect(agentSocket.status == 101)
        let browserToken = Array(first.adminToken!.utf8).map { String(format: "%02x", $0) }.joined()
        let operatorSocket = try WebSocketClient(port: second.port, path: "/ws",
                                                 headers: ["Sec-WebSocket-Protocol": "molecule-ws, molecule-auth.\(browserToken)"])
        #expect(operatorSocket.status == 101)
        // An org token (stored as its sha256) is an operator credential too.
        let orgToken = "org-" + UUID().uuidString
        let pool = first.database.pool()
        try await pool.query("INSERT INTO public.org_api_tokens (token_hash, prefix, name) VALUES (sha256(convert_to($1, 'UTF8')), $2, 'ws')",
                             [orgToken, String(orgToken.prefix(8))])
        await pool.shutdown()
        let orgSocket = try WebSocketClient(port: second.port, path: "/ws", headers: ["Authorization": "Bearer \(orgToken)"])
        #expect(orgSocket.status == 101)

        // A stranger's event is not for the member's socket; the member's own is.
        #expect(try first.send("POST", "/workspaces/\(stranger)/notify", #"{"message":"elsewhere"}"#, token: strangerToken).status == 200)
        #expect(try first.send("POST", "/workspaces/\(member)/notify", #"{"message":"here"}"#, token: memberToken).status == 200)
        let seen = try agentSocket.nextEvent()
        #expect(seen["event"] as? String == "AGENT_MESSAGE")
        #expect(seen["workspace_id"] as? String == member)
        #expect(seen["timestamp"] is String)
        #expect((seen["payload"] as? [String: Any])?["message"] as? String == "here")
        // The operator sees both, in order (anything else passing by is skipped).
        var operatorSaw: [String] = []
        while operatorSaw.count < 2 {
            let workspace = try operatorSocket.nextEvent()["workspace_id"] as? String ?? ""
            if workspace == stranger || workspace == member { operatorSaw.append(workspace) }
        }
        #expect(operatorSaw == [stranger, member])
        var orgSaw: [String] = []
        while orgSaw.count < 2 {
            let workspace = try orgSocket.nextEvent()["workspace_id"] as? String ?? ""
            if workspace == stranger || workspace == member { orgSaw.append(workspace) }
        }
        #expect(orgSaw == [stranger, member])

        // Never unauthenticated; a workspace token alone is not an operator. A refused upgrade
        // is never switched (NIO answers it 400 and closes); the same check on a plain GET
        // answers the JSON error.
        let refusals: [([String: String], Int)] = [
            ([:], 401),
            (["X-Workspace-ID": member], 401),
            (["Authorization": "Bearer \(strangerToken)", "X-Workspace-ID": member], 401),
            (["Authorization": "Bearer \(memberToken)"], 401),
            (["Authorization": "Bearer \(memberToken)", "X-Workspace-ID": "nope"], 400),
        ]
        for (headers, status) in refusals {
            let refused = try WebSocketClient(port: second.port, path: "/ws", headers: headers)
            #expect(refused.status == 400, "\(headers)")
            let plain = try second.send("GET", "/ws", headers: headers)
            #expect(plain.status == status, "\(headers): \(plain.text)")
            #expect(plain.errorBody != nil)
        }
        let plain = try second.send("GET", "/ws", token: first.adminToken)
        #expect(plain.status == 426)
        #expect(plain.errorBody?.code == "upgrade_required")

        // SIGTERM with sockets open still exits cleanly.
        #expect(second.stop().status == 0)
        withExtendedLifetime(first) {}
    }

    @Test func aSocketThatStopsReadingIsDroppedNotBuffered() async throws {
        let server = try await RunningServer(extra: ["EVENTS_CHANNEL": "events:test-" + UUID().uuidString])
        let (id, token) = try server.agent("flood")
        let socket = try WebSocketClient(port: server.port, path: "/ws", headers: ["Authorization": "Bearer \(server.adminToken!)"])
        #expect(socket.status == 101)
        let message = String(repeating: "x", count: 64 * 1024)
        let before = residentMegabytes(server.process.pid)
        for _ in 0..<600 {
            #expect(try server.send("POST", "/workspaces/\(id)/notify", #"{"message":"\#(message)"}"#, token: token).status == 200)
        }
        var received = 0
        do {
            while true {
                _ = try socket.nextEvent()
                received += 1
            }
        } catch {
            #expect("\(error)".contains("closed"), "the server ends the socket instead of queueing everything: \(error)")
        }
        #expect(received > 0 && received < 600)
        // 600 events of 64 KiB are 37.5 MiB; kept for the socket, they would all be resident
        // on top of what the 600 requests themselves leave behind (15 to 18 MB measured).
        let grown = residentMegabytes(server.process.pid) - before
        #expect(grown < 32, "the server grew by \(grown) MB while the socket did not read")
        #expect(server.stop().stderr.contains("dropping a slow event subscriber"))
    }
}

/// VmRSS of a process, in MB (0 when it cannot be read).
func residentMegabytes(_ pid: pid_t) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kilobytes / 1024
}
