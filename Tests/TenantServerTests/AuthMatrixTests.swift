import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Auth matrix")
struct AuthMatrixTests {
    @Test func workspaceRoutesNeedTheWorkspacesOwnTokenAndAdminRoutesTheAdminToken() async throws {
        let server = try await RunningServer()
        let mine = try server.createWorkspace("mine")
        let theirs = try server.createWorkspace("theirs")
        let myToken = try server.registerPoll(mine)
        let theirToken = try server.registerPoll(theirs)

        let cases: [(String, String, String?, String?, Int)] = [
            ("POST", "/workspaces", #"{"name":"x"}"#, nil, 401),
            ("POST", "/workspaces", #"{"name":"x"}"#, "not-the-admin-token", 401),
            ("POST", "/workspaces", #"{"name":"x"}"#, myToken, 401),
            ("GET", "/workspaces", nil, myToken, 401),
            ("DELETE", "/workspaces/\(theirs)", nil, myToken, 401),
            ("POST", "/admin/workspaces/\(theirs)/tokens", nil, myToken, 401),
            ("GET", "/workspaces/\(mine)/activity", nil, nil, 401),
            ("GET", "/workspaces/\(mine)/activity", nil, theirToken, 401),
            ("GET", "/workspaces/\(mine)/activity", nil, myToken, 200),
            ("GET", "/workspaces/\(mine)/activity", nil, server.adminToken, 200),
            ("POST", "/workspaces/\(mine)/activity", #"{"activity_type":"agent_log"}"#, theirToken, 401),
            ("GET", "/workspaces/\(mine)/tokens", nil, theirToken, 401),
            ("POST", "/registry/heartbeat", #"{"workspace_id":"\#(mine)"}"#, nil, 401),
            ("POST", "/registry/heartbeat", #"{"workspace_id":"\#(mine)"}"#, theirToken, 401),
            ("POST", "/registry/heartbeat", #"{"workspace_id":"\#(mine)"}"#, server.adminToken, 401),
            ("POST", "/registry/update-card", #"{"workspace_id":"\#(mine)","agent_card":{}}"#, theirToken, 401),
            ("POST", "/registry/register", #"{"id":"\#(mine)","url":"","delivery_mode":"poll"}"#, theirToken, 401),
            ("GET", "/registry/\(mine)/peers", nil, theirToken, 401),
            ("GET", "/registry/\(mine)/peers", nil, myToken, 200),
        ]
        for (method, path, body, token, status) in cases {
            let response = try server.send(method, path, body, token: token)
            #expect(response.status == status, "\(method) \(path) with \(token == nil ? "no token" : "a token"): \(response.status) \(response.text)")
            if status >= 400 {
                #expect(response.errorBody != nil, "\(method) \(path): \(response.text)")
            }
        }
    }

    @Test func withoutAdminTokenAdminRoutesRefuseEverythingButOrgTokensWork() async throws {
        let server = try await RunningServer(adminToken: nil)
        for token in [nil, "anything", ""] as [String?] {
            #expect(try server.send("GET", "/workspaces", token: token).status == 401)
            #expect(try server.send("POST", "/workspaces", #"{"name":"x"}"#, token: token).status == 401)
        }
        // An org token (stored as sha256 only) is an admin credential.
        let orgToken = "org-" + UUID().uuidString
        let pool = server.database.pool()
        try await pool.query("INSERT INTO public.org_api_tokens (token_hash, prefix, name) VALUES (sha256(convert_to($1, 'UTF8')), $2, 'ci')",
                             [orgToken, String(orgToken.prefix(8))])
        await pool.shutdown()
        #expect(try server.send("POST", "/workspaces", #"{"name":"by-org-token"}"#, token: orgToken).status == 201)
        #expect(try server.send("GET", "/workspaces", token: orgToken).status == 200)
    }
}
