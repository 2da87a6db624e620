import Foundation
import Postgres
import TestSupport
import Testing

/// Workspace and global secrets through the real server, read back from the table to
/// prove nothing is stored or logged in the clear.
@Suite("Secrets")
struct SecretsTests {
    static func freshKey() -> String { Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString() }

    @Test func secretsRoundTripEncryptedAtRestAndNeverListedOrLogged() async throws {
        let key = Self.freshKey()
        let server = try await RunningServer(extra: ["SECRETS_ENCRYPTION_KEY": key])
        let lead = try server.createWorkspace("lead")
        let (member, token) = try server.agent("member", parent: lead)
        let leadToken = try server.registerPoll(lead)
        let workspaceValue = "sk-workspace-" + UUID().uuidString
        let globalValue = "sk-global-" + UUID().uuidString
        let sharedGlobal = "shared-global-" + UUID().uuidString

        let saved = try server.send("POST", "/workspaces/\(member)/secrets", #"{"key":"OPENAI_API_KEY","value":"\#(workspaceValue)"}"#, token: token)
        #expect(saved.status == 200, "\(saved.text)")
        #expect(try saved.object()["status"] as? String == "saved")
        #expect(try server.send("PUT", "/workspaces/\(member)/secrets", #"{"key":"GITHUB_TOKEN","value":"gh-1"}"#, token: token).status == 200)
        for path in ["/settings/secrets", "/admin/secrets"] {
            let global = try server.send("POST", path, #"{"key":"OPENAI_API_KEY","value":"\#(sharedGlobal)"}"#, token: server.adminToken)
            #expect(global.status == 200, "\(global.text)")
            #expect(try global.object()["scope"] as? String == "global")
        }
        #expect(try server.send("PUT", "/settings/secrets", #"{"key":"SEARCH_KEY","value":"\#(globalValue)"}"#, token: server.adminToken).status == 200)

        // Listings: names, scopes and times, never values.
        let listed = try server.send("GET", "/workspaces/\(member)/secrets", token: token)
        #expect(listed.status == 200)
        let entries = try listed.array()
        #expect(entries.map { "\($0["scope"]!):\($0["key"]!)" } == ["workspace:GITHUB_TOKEN", "workspace:OPENAI_API_KEY", "global:SEARCH_KEY"])
        #expect(entries.allSatisfy { $0["has_value"] as? Bool == true && $0["value"] == nil })
        let globals = try server.send("GET", "/admin/secrets", token: server.adminToken)
        #expect(try globals.array().compactMap { $0["key"] as? String } == ["OPENAI_API_KEY", "SEARCH_KEY"])
        for text in [listed.text, globals.text] {
            #expect(!text.contains(workspaceValue) && !text.contains(globalValue) && !text.contains(sharedGlobal))
        }

        // Values: one flat map, the workspace's own value over the global one.
        let values = try server.send("GET", "/workspaces/\(member)/secrets/values", token: token).object()
        #expect(values as? [String: String] == ["OPENAI_API_KEY": workspaceValue, "GITHUB_TOKEN": "gh-1", "SEARCH_KEY": globalValue])
        let leadValues = try server.send("GET", "/workspaces/\(lead)/secrets/values", token: leadToken).object()
        #expect(leadValues as? [String: String] == ["OPENAI_API_KEY": sharedGlobal, "SEARCH_KEY": globalValue])

        // Refusals: no token, another workspace's token, a workspace token on admin routes.
        #expect(try server.send("GET", "/workspaces/\(member)/secrets/values").status == 401)
        #expect(try server.send("GET", "/workspaces/\(member)/secrets/values", token: leadToken).status == 401)
        #expect(try server.send("POST", "/workspaces/\(member)/secrets", #"{"key":"X","value":"y"}"#, token: leadToken).status == 401)
        #expect(try server.send("GET", "/settings/secrets", token: token).status == 401)
        #expect(try server.send("POST", "/admin/secrets", #"{"key":"X","value":"y"}"#, token: token).status == 401)

        // Bad input is a 4xx JSON error.
        for (body, fragment) in [(#"{"key":"X"}"#, "value"), (#"{"value":"y"}"#, "key"), (#"{"key":"","value":"y"}"#, "key"),
                                 (#"{"key":"A B","value":"y"}"#, "key"), (#"{"key":"X","value":""}"#, "value"), ("[1]", "type")] {
            let refused = try server.send("POST", "/workspaces/\(member)/secrets", body, token: token)
            #expect(refused.status == 400, "\(body): \(refused.text)")
            #expect(refused.errorBody?.error.contains(fragment) == true, "\(body): \(refused.text)")
        }
        #expect(try server.send("DELETE", "/workspaces/\(member)/secrets/NOPE", token: token).status == 404)

        // At rest: AES-GCM bytes (version 1), never the plaintext.
        let pool = server.database.pool()
        let rows = try await pool.query("""
            SELECT encode(encrypted_value, 'escape'), encryption_version, length(encrypted_value) FROM public.workspace_secrets
            UNION ALL SELECT encode(encrypted_value, 'escape'), encryption_version, length(encrypted_value) FROM public.global_secrets
            """)
        #expect(rows.count == 4)
        for row in rows.rows {
            let stored = try row.decode(String.self, at: 0)
            #expect(try row.decode(Int.self, at: 1) == 1)
            #expect(!stored.contains("sk-") && !stored.contains("gh-1") && !stored.contains("shared-global"))
            #expect(try row.decode(Int.self, at: 2) >= 12 + 16 + 4)
        }
        await pool.shutdown()

        // Delete, then the global value shows through again.
        let deleted = try server.send("DELETE", "/workspaces/\(member)/secrets/OPENAI_API_KEY", token: token)
        #expect(deleted.status == 200)
        #expect(try deleted.object()["status"] as? String == "deleted")
        let after = try server.send("GET", "/workspaces/\(member)/secrets/values", token: token).object()
        #expect(after["OPENAI_API_KEY"] as? String == sharedGlobal)
        #expect(try server.send("DELETE", "/settings/secrets/SEARCH_KEY", token: server.adminToken).status == 200)
        #expect(try server.send("DELETE", "/admin/secrets/SEARCH_KEY", token: server.adminToken).status == 404)

        let outcome = server.stop()
        for secret in [workspaceValue, globalValue, sharedGlobal, "gh-1", key] {
            #expect(!outcome.stderr.contains(secret) && !outcome.stdout.contains(secret), "a secret value reached the logs")
        }
        #expect(outcome.stderr.contains("secret saved"))
    }

    @Test func withoutAKeySecretRoutesSayWhatToSetAndTheRestRuns() async throws {
        let server = try await RunningServer(extra: ["SECRETS_ENCRYPTION_KEY": ""])
        let (id, token) = try server.agent("keyless")
        let refused = try server.send("POST", "/workspaces/\(id)/secrets", #"{"key":"X","value":"y"}"#, token: token)
        #expect(refused.status == 503)
        #expect(refused.errorBody?.code == "secrets_key_missing")
        #expect(refused.errorBody?.error.contains("SECRETS_ENCRYPTION_KEY") == true)
        #expect(try server.send("GET", "/workspaces/\(id)/secrets", token: token).status == 200)
        #expect(try server.send("GET", "/workspaces/\(id)/secrets/values", token: token).status == 200)
        #expect(try server.send("GET", "/health").status == 200)
    }

    @Test func aMalformedKeyStopsTheServerWithOneLine() throws {
        let outcome = try MoleculeTenantBinary.run(["server", "--config", "/dev/null"], environment: [
            "DATABASE_URL": "postgres://127.0.0.1:1/none", "SECRETS_ENCRYPTION_KEY": "too-short",
        ])
        #expect(outcome.status == 1)
        #expect(outcome.stderr.contains("SECRETS_ENCRYPTION_KEY is not valid"))
        #expect(!outcome.stderr.contains("too-short"))
    }

    @Test func aWrongKeyFailsLoudlyAndRotationKeepsEveryValueReadable() async throws {
        let oldKey = Self.freshKey()
        let newKey = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).map { String(format: "%02x", $0) }.joined()
        let first = try await RunningServer(extra: ["SECRETS_ENCRYPTION_KEY": oldKey])
        let (id, token) = try first.agent("rotating")
        #expect(try first.send("POST", "/workspaces/\(id)/secrets", #"{"key":"A","value":"alpha"}"#, token: token).status == 200)
        #expect(try first.send("POST", "/settings/secrets", #"{"key":"B","value":"bravo"}"#, token: first.adminToken).status == 200)
        _ = first.stop()
        // A row the reference wrote without a key (encryption_version 0) is encrypted by the rotation.
        let pool = first.database.pool()
        try await pool.query("INSERT INTO public.global_secrets (key, encrypted_value, encryption_version) VALUES ('C', convert_to('charlie', 'UTF8'), 0)")

        // A server with a different key refuses to hand out a partial set.
        let wrong = try await RunningServer(adminToken: first.adminToken, database: first.database, extra: ["SECRETS_ENCRYPTION_KEY": Self.freshKey()])
        let undecryptable = try wrong.send("GET", "/workspaces/\(id)/secrets/values", token: token)
        #expect(undecryptable.status == 500)
        #expect(undecryptable.errorBody?.code == "secrets_undecryptable")
        #expect(undecryptable.errorBody?.error.contains("workspace:A") == true)
        _ = wrong.stop()

        // Without a key, encrypted values are not handed out as an empty or partial set either.
        let keyless = try await RunningServer(adminToken: first.adminToken, database: first.database, extra: ["SECRETS_ENCRYPTION_KEY": ""])
        let locked = try keyless.send("GET", "/workspaces/\(id)/secrets/values", token: token)
        #expect(locked.status == 503, "\(locked.text)")
        #expect(locked.errorBody?.code == "secrets_key_missing")
        _ = keyless.stop()

        // Rotation with the wrong current key changes nothing.
        let environment = ["DATABASE_URL": first.database.url, "SECRETS_ENCRYPTION_KEY_NEW": newKey, "LOG_FORMAT": "json"]
        let refused = try MoleculeTenantBinary.run(["secrets", "rotate-key", "--config", "/dev/null"],
                                                   environment: environment.merging(["SECRETS_ENCRYPTION_KEY": Self.freshKey()]) { _, new in new })
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("nothing was changed"))
        let versions = try await pool.query("SELECT count(*) FROM public.global_secrets WHERE encryption_version = 0").rows[0].decode(Int.self, at: 0)
        #expect(versions == 1)

        let rotated = try MoleculeTenantBinary.run(["secrets", "rotate-key", "--json", "--config", "/dev/null"],
                                                   environment: environment.merging(["SECRETS_ENCRYPTION_KEY": oldKey]) { _, new in new })
        #expect(rotated.status == 0, "\(rotated.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(rotated.stdout.utf8)) as? [String: Int]
        #expect(report == ["rotated": 2, "encrypted": 1, "unchanged": 0])
        let again = try MoleculeTenantBinary.run(["secrets", "rotate-key", "--json", "--config", "/dev/null"],
                                                 environment: environment.merging(["SECRETS_ENCRYPTION_KEY": oldKey]) { _, new in new })
        #expect(again.status == 0, "\(again.stderr)")
        #expect((try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Int])?["unchanged"] == 3)
        for outcome in [refused, rotated, again] {
            #expect(!outcome.stderr.contains(newKey) && !outcome.stderr.contains(oldKey) && !outcome.stderr.contains("alpha"))
        }
        await pool.shutdown()

        let renewed = try await RunningServer(adminToken: first.adminToken, database: first.database, extra: ["SECRETS_ENCRYPTION_KEY": newKey])
        let values = try renewed.send("GET", "/workspaces/\(id)/secrets/values", token: token).object()
        #expect(values as? [String: String] == ["A": "alpha", "B": "bravo", "C": "charlie"])
        _ = renewed.stop()
        withExtendedLifetime(first) {}
    }
}
