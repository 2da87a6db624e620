import Foundation
import TestSupport
import Testing

/// Who reads and writes which namespace, over root -> lead -> two members plus an
/// unrelated root, checked pair by pair against real processes.
@Suite("Memory access control", .serialized)
struct MemoryACLTests {
    @Test func everyReaderSeesExactlyItsNamespacesAndOrgWritesNeedARoot() async throws {
        let tenant = try await MemoryTenant()
        let server = tenant.server
        let root = try tenant.agent("root")
        let lead = try tenant.agent("lead", parent: root.id)
        let memberA = try tenant.agent("member-a", parent: lead.id)
        let memberB = try tenant.agent("member-b", parent: lead.id)
        let other = try tenant.agent("other-root")
        let agents = ["root": root, "lead": lead, "member-a": memberA, "member-b": memberB, "other-root": other]

        // One memory per namespace, written by a workspace allowed to write it.
        let seeds: [(namespace: String, writer: (id: String, token: String))] = [
            ("workspace:\(root.id)", root), ("workspace:\(lead.id)", lead), ("workspace:\(memberA.id)", memberA),
            ("workspace:\(memberB.id)", memberB), ("workspace:\(other.id)", other),
            ("team:\(root.id)", lead), ("team:\(lead.id)", memberA), ("org:\(root.id)", root),
            ("team:\(other.id)", other), ("org:\(other.id)", other),
        ]
        var contentByNamespace: [String: String] = [:]
        for (namespace, writer) in seeds {
            let content = "seed for \(namespace)"
            let text = try tenant.tool(writer.id, token: writer.token, "commit_memory_v2", #"{"content":"\#(content)","namespace":"\#(namespace)"}"#)
            #expect(text.contains(#""namespace":"\#(namespace)""#), "\(namespace): \(text)")
            contentByNamespace[namespace] = content
        }

        let readable: [String: Set<String>] = [
            "root": ["workspace:\(root.id)", "team:\(root.id)", "org:\(root.id)"],
            "lead": ["workspace:\(lead.id)", "team:\(root.id)", "org:\(root.id)"],
            "member-a": ["workspace:\(memberA.id)", "team:\(lead.id)", "org:\(root.id)"],
            "member-b": ["workspace:\(memberB.id)", "team:\(lead.id)", "org:\(root.id)"],
            "other-root": ["workspace:\(other.id)", "team:\(other.id)", "org:\(other.id)"],
        ]
        for (name, agent) in agents {
            for (namespace, content) in contentByNamespace {
                let response = try server.send("GET", "/workspaces/\(agent.id)/v2/memories?namespace=\(namespace)", token: agent.token)
                #expect(response.status == 200)
                let found = response.text.contains(content)
                #expect(found == readable[name]!.contains(namespace), "\(name) reading \(namespace): \(response.text)")
                // The MCP search intersects the same way.
                let viaMCP = try tenant.tool(agent.id, token: agent.token, "search_memory", #"{"namespaces":["\#(namespace)"]}"#)
                #expect(viaMCP.contains(content) == readable[name]!.contains(namespace), "\(name) searching \(namespace)")
            }
            // Everything readable, nothing else, through the legacy recall.
            let recalled = try server.send("GET", "/workspaces/\(agent.id)/memories", token: agent.token).text
            for (namespace, content) in contentByNamespace {
                #expect(recalled.contains(content) == readable[name]!.contains(namespace), "\(name) recall \(namespace)")
            }
        }

        // Org writes: roots only, on every surface.
        for agent in [lead, memberA, memberB] {
            let refused = try server.send("POST", "/workspaces/\(agent.id)/memories", #"{"content":"x","scope":"GLOBAL"}"#, token: agent.token)
            #expect(refused.status == 403)
            #expect(refused.errorBody?.code == "forbidden")
            #expect(try tenant.tool(agent.id, token: agent.token, "commit_memory", #"{"content":"x","scope":"GLOBAL"}"#).hasPrefix("error:"))
            #expect(try tenant.tool(agent.id, token: agent.token, "commit_memory_v2", #"{"content":"x","namespace":"org:\#(root.id)"}"#).hasPrefix("error:"))
        }
        // Writes into a namespace the writer cannot write are refused too.
        #expect(try tenant.tool(memberA.id, token: memberA.token, "commit_memory_v2", #"{"content":"x","namespace":"workspace:\#(memberB.id)"}"#).hasPrefix("error:"))
        #expect(try tenant.tool(other.id, token: other.token, "commit_memory_v2", #"{"content":"x","namespace":"team:\#(root.id)"}"#).hasPrefix("error:"))

        // A token is useless on another workspace, on every memory route.
        for path in ["/memories", "/v2/namespaces", "/v2/memories", "/memory", "/memory/k", "/session-search"] {
            #expect(try server.send("GET", "/workspaces/\(memberB.id)\(path)", token: memberA.token).status == 401, "\(path)")
            #expect(try server.send("GET", "/workspaces/\(root.id)\(path)", token: other.token).status == 401, "\(path)")
        }
        #expect(try server.send("POST", "/workspaces/\(root.id)/memories", #"{"content":"x","scope":"LOCAL"}"#, token: other.token).status == 401)
        #expect(try server.send("POST", "/workspaces/\(root.id)/mcp", #"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, token: other.token).status == 401)
        #expect(try server.send("DELETE", "/workspaces/\(root.id)/v2/memories/\(UUID().uuidString)", token: lead.token).status == 401)
        // Workspace tokens are not admin credentials.
        #expect(try server.send("GET", "/admin/memories/export", token: root.token).status == 401)
        #expect(try server.send("POST", "/admin/memories/import", "[]", token: root.token).status == 401)
    }

    @Test func adminMemoryRoutesRefuseEverythingWithoutAnAdminToken() async throws {
        let server = try await RunningServer(adminToken: nil)
        for token in [nil, "guess", ""] as [String?] {
            #expect(try server.send("GET", "/admin/memories/export", token: token).status == 401)
            #expect(try server.send("POST", "/admin/memories/import", "[]", token: token).status == 401)
        }
    }

    @Test func exportPagesPastOneHundredAndImportIsIdempotentAndKeepsCreatedAt() async throws {
        let tenant = try await MemoryTenant()
        let server = tenant.server
        let root = try tenant.agent("archive-root")
        let member = try tenant.agent("archive-member", parent: root.id)
        var dump: [[String: Any]] = []
        for index in 0..<150 {
            dump.append(["content": "entry \(index)", "scope": "LOCAL", "workspace_name": "archive-member",
                         "created_at": "2024-01-02T03:04:\(String(format: "%02d", index % 60)).000000Z"])
        }
        dump.append(["content": "from the root", "scope": "GLOBAL", "workspace_name": "archive-root", "id": UUID().uuidString.lowercased()])
        dump.append(["content": "nobody", "scope": "LOCAL", "workspace_name": "no-such-workspace"])
        dump.append(["content": "not allowed", "scope": "GLOBAL", "workspace_name": "archive-member"])
        let body = String(data: try JSONSerialization.data(withJSONObject: dump), encoding: .utf8)!
        let first = try server.send("POST", "/admin/memories/import", body, token: server.adminToken)
        #expect(first.status == 200, "\(first.text)")
        let outcome = try first.object()
        #expect(outcome["imported"] as? Int == 151)
        #expect(outcome["skipped"] as? Int == 2)
        #expect(outcome["total"] as? Int == 153)
        let again = try server.send("POST", "/admin/memories/import", body, token: server.adminToken).object()
        #expect(again["imported"] as? Int == 0)
        #expect(again["unchanged"] as? Int == 151)

        let exported = try server.send("GET", "/admin/memories/export", token: server.adminToken)
        #expect(exported.status == 200)
        let entries = try exported.array()
        let mine = entries.filter { $0["workspace_name"] as? String == "archive-member" }
        #expect(mine.count == 150)
        #expect(mine.allSatisfy { ($0["created_at"] as? String)?.hasPrefix("2024-01-02T03:04:") == true })
        #expect(mine.allSatisfy { $0["scope"] as? String == "LOCAL" && $0["namespace"] as? String == "workspace:\(member.id)" })
        #expect(entries.contains { $0["scope"] as? String == "GLOBAL" && $0["workspace_name"] as? String == "archive-root" })
        // The org entry's import was audited.
        let audit = try server.send("GET", "/workspaces/\(root.id)/activity?type=memory_write_global", token: root.token).array()
        #expect(audit.count == 1)

        // Exported dumps import again as they are (unchanged, same ids).
        let roundTrip = String(data: try JSONSerialization.data(withJSONObject: entries), encoding: .utf8)!
        let replay = try server.send("POST", "/admin/memories/import", roundTrip, token: server.adminToken).object()
        #expect(replay["unchanged"] as? Int == entries.count, "\(replay)")
    }

    @Test func importTakesDumpsAboveTheUsualBodyCapInBatches() async throws {
        let tenant = try await MemoryTenant()
        let server = tenant.server
        _ = try tenant.agent("bulk")
        let filler = String(repeating: "x", count: 500)
        let dump = (0..<2500).map { ["content": "bulk \($0) \(filler)", "workspace_name": "bulk"] }
        let body = String(data: try JSONSerialization.data(withJSONObject: dump), encoding: .utf8)!
        #expect(body.utf8.count > 1 << 20)
        // 2,500 memories through debug builds of server and plugin: seconds on a busy machine.
        let outcome = try server.send("POST", "/admin/memories/import", body, token: server.adminToken, timeout: .seconds(90))
        #expect(outcome.status == 200, "\(outcome.text.prefix(300))")
        #expect(try outcome.object()["imported"] as? Int == 2500)
        #expect(try server.send("GET", "/admin/memories/export", token: server.adminToken).array().count == 2500)
    }
}

