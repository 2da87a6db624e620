import Foundation
import Postgres
import TestSupport
import Testing

@Suite("Token last use")
struct TokenTouchTests {
    @Test func aTokensLastUseIsRecordedButNotRewrittenOnEveryRequest() async throws {
        let server = try await RunningServer()
        defer { _ = server.stop() }
        let (id, token) = try server.agent("busy agent")
        let pool = server.database.pool(maxConnections: 1)
        defer { Task { await pool.shutdown() } }
        func row() async throws -> (version: String, lastUsed: String?) {
            let result = try await pool.query(
                "SELECT xmin::text, last_used_at::text FROM public.workspace_auth_tokens WHERE workspace_id = $1 AND revoked_at IS NULL", [id])
            return (try result[0].decode(String.self, at: 0), try result[0].decode(String?.self, at: 1))
        }
        #expect(try server.send("GET", "/workspaces/\(id)/activity", token: token).status == 200)
        let first = try await row()
        #expect(first.lastUsed != nil, "the first authenticated request records the token's use")
        for _ in 0..<5 {
            #expect(try server.send("GET", "/workspaces/\(id)/activity", token: token).status == 200)
        }
        let later = try await row()
        // xmin changes with every row write: none within the minute.
        #expect(later.version == first.version)
        #expect(later.lastUsed == first.lastUsed)
    }
}
