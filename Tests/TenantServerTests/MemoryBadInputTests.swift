import Foundation
import TestSupport
import Testing

@Suite("Memory bad input", .serialized)
struct MemoryBadInputTests {
    @Test func everyMemoryRouteAnswersBadInputWithA4xxJSONError() async throws {
        let tenant = try await MemoryTenant()
        let server = tenant.server
        let root = try tenant.agent("root")
        let member = try tenant.agent("member", parent: root.id)
        let id = member.id
        let huge = String(repeating: "a", count: 100_001)
        let cases: [(String, String, String?, Int, String)] = [
            ("POST", "/workspaces/\(id)/memories", "{not json", 400, "JSON"),
            ("POST", "/workspaces/\(id)/memories", "[1,2]", 400, "JSON object"),
            ("POST", "/workspaces/\(id)/memories", nil, 400, "empty"),
            ("POST", "/workspaces/\(id)/memories", #"{"content":5,"scope":"LOCAL"}"#, 400, "content"),
            ("POST", "/workspaces/\(id)/memories", #"{"scope":"LOCAL"}"#, 400, "content is required"),
            ("POST", "/workspaces/\(id)/memories", #"{"content":"x"}"#, 400, "scope is required"),
            ("POST", "/workspaces/\(id)/memories", #"{"content":"x","scope":"PLANET"}"#, 400, "LOCAL, TEAM, or GLOBAL"),
            ("POST", "/workspaces/\(id)/memories", #"{"content":"   ","scope":"LOCAL"}"#, 400, "blank"),
            ("POST", "/workspaces/\(id)/memories", #"{"content":"x","scope":"LOCAL","colour":"red"}"#, 400, "colour is not a known field"),
            ("POST", "/workspaces/\(id)/memories", #"{"content":"x","scope":"LOCAL","workspace_id":"\#(root.id)"}"#, 403, "workspace_id"),
            ("POST", "/workspaces/\(id)/memories", #"{"content":"x","scope":"LOCAL","namespace":"\#(String(repeating: "n", count: 51))"}"#, 400, "50"),
            ("POST", "/workspaces/\(id)/memories", #"{"content":"\#(huge)","scope":"LOCAL"}"#, 413, "limit"),
            ("GET", "/workspaces/\(id)/memories?scope=PLANET", nil, 400, "scope"),
            ("GET", "/workspaces/\(id)/memories?limit=zero", nil, 400, "limit"),
            ("GET", "/workspaces/\(id)/memories?workspace_id=\(root.id)", nil, 403, "workspace_id"),
            ("GET", "/workspaces/not-a-uuid/memories", nil, 400, "UUID"),
            ("GET", "/workspaces/\(id)/v2/memories?kind=opinion", nil, 400, "kind"),
            ("GET", "/workspaces/\(id)/v2/memories?limit=-1", nil, 400, "limit"),
            ("DELETE", "/workspaces/\(id)/v2/memories/not-a-uuid", nil, 400, "UUID"),
            ("DELETE", "/workspaces/\(id)/v2/memories/\(UUID().uuidString)?namespace=org:\(root.id)", nil, 403, "cannot write"),
            ("POST", "/workspaces/\(id)/memory", "{", 400, "JSON"),
            ("POST", "/workspaces/\(id)/memory", #"{"value":1}"#, 400, "key is required"),
            ("POST", "/workspaces/\(id)/memory", #"{"key":"","value":1}"#, 400, "key is required"),
            ("POST", "/workspaces/\(id)/memory", #"{"key":7,"value":1}"#, 400, "key"),
            ("POST", "/workspaces/\(id)/memory", #"{"key":"k","value":1,"ttl_seconds":"soon"}"#, 400, "ttl_seconds"),
            ("POST", "/workspaces/\(id)/memory", #"{"key":"k","value":1,"ttl_seconds":0}"#, 400, "ttl_seconds"),
            ("POST", "/workspaces/\(id)/memory", #"{"key":"k","value":1,"if_match_version":-2}"#, 400, "if_match_version"),
            ("POST", "/workspaces/\(id)/memory", #"{"key":"k","value":1,"version":3}"#, 400, "version is not a known field"),
            ("POST", "/workspaces/\(id)/memory", #"{"key":"\#(String(repeating: "k", count: 1025))","value":1}"#, 400, "key"),
            ("GET", "/workspaces/\(id)/memory/absent", nil, 404, "key not found"),
            ("GET", "/workspaces/\(id)/session-search?limit=abc", nil, 400, "limit"),
        ]
        for (method, path, body, status, fragment) in cases {
            let response = try server.send(method, path, body, token: member.token)
            #expect(response.status == status, "\(method) \(path) \(body?.prefix(80) ?? ""): \(response.status) \(response.text.prefix(300))")
            #expect(response.errorBody?.error.contains(fragment) == true, "\(method) \(path) \(body?.prefix(80) ?? ""): \(response.text.prefix(300))")
            #expect(response.headers["content-type"] == "application/json")
        }
        let admin = server.adminToken
        let unknown = try server.send("GET", "/workspaces/\(UUID().uuidString.lowercased())/memories", token: admin)
        #expect(unknown.status == 404 && unknown.errorBody?.error == "workspace not found")
        let adminCases: [(String, Int, String)] = [
            ("{}", 400, "JSON array"),
            ("[5]", 400, "[0] must be a JSON object"),
            (#"[{"content":"x","workspace_name":"member","extra":1}]"#, 400, "[0].extra is not a known field"),
            (#"[{"content":7,"workspace_name":"member"}]"#, 400, "[0].content"),
        ]
        for (body, status, fragment) in adminCases {
            let response = try server.send("POST", "/admin/memories/import", body, token: admin)
            #expect(response.status == status, "\(body): \(response.text)")
            #expect(response.errorBody?.error.contains(fragment) == true, "\(body): \(response.text)")
        }
        let bad = try server.send("POST", "/admin/memories/import",
                                  #"[{"content":"x","workspace_name":"member","created_at":"yesterday"},{"content":"y","workspace_name":"member","id":"nope"},{"content":"z","workspace_name":"member","kind":"kv"}]"#,
                                  token: admin).object()
        #expect(bad["skipped"] as? Int == 3, "\(bad)")
        let oversized = Data(("{\"content\":\"" + String(repeating: "a", count: 1_100_000) + "\",\"scope\":\"LOCAL\"}").utf8)
        let tooLarge = try TestHTTP.request("POST", port: server.port, path: "/workspaces/\(id)/memories", body: oversized,
                                            headers: ["Authorization": "Bearer \(member.token)"])
        #expect(tooLarge.status == 413)
        #expect(tooLarge.errorBody?.code == "too_large")
        // Nothing above reached the plugin as a write.
        #expect(try server.send("GET", "/workspaces/\(id)/memories", token: member.token).text == "[]")
    }

    @Test func tokensAndSecretsNeverReachTheLogs() async throws {
        let tenant = try await MemoryTenant()
        let server = tenant.server
        let root = try tenant.agent("root")
        let secret = "ghp_" + String(repeating: "Z", count: 36)
        #expect(try server.send("POST", "/workspaces/\(root.id)/memories", #"{"content":"token \#(secret)","scope":"GLOBAL"}"#, token: root.token).status == 201)
        #expect(try server.send("POST", "/workspaces/\(root.id)/memory", #"{"key":"creds","value":{"password":"hunter2-\#(secret)"}}"#, token: root.token).status == 200)
        _ = try tenant.tool(root.id, token: root.token, "commit_memory", #"{"content":"again \#(secret)"}"#)
        _ = try server.send("GET", "/workspaces/\(root.id)/memories?q=\(secret)", token: root.token)
        _ = try server.send("GET", "/admin/memories/export", token: server.adminToken)
        _ = try server.send("GET", "/workspaces/\(root.id)/memories", token: "not-\(root.token)")
        let stored = try server.send("GET", "/workspaces/\(root.id)/memory/creds", token: root.token).text
        #expect(!stored.contains(secret) && stored.contains("REDACTED"), "\(stored)")
        let outcome = server.stop()
        let logs = outcome.stdout + outcome.stderr
        #expect(logs.contains("request"), "the server did log requests")
        for needle in [root.token, server.adminToken!, secret, "hunter2"] {
            #expect(!logs.contains(needle), "a secret reached the log")
        }
    }
}
