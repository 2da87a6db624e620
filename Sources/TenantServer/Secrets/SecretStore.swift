import HTTPTypes
import Postgres
import Timestamps

/// `workspace_secrets` and `global_secrets`. Listings carry names and times only;
/// values leave the database only through `values(of:)`, decrypted for the workspace.
struct SecretStore: Sendable {
    let pool: PostgresPool
    let cipher: SecretCipher

    struct Listed: Encodable, Sendable {
        let key: String
        let hasValue = true
        let scope: String
        let createdAt: Timestamp?
        let updatedAt: Timestamp?

        enum CodingKeys: String, CodingKey {
            case key, scope
            case hasValue = "has_value"
            case createdAt = "created_at"
            case updatedAt = "updated_at"
        }
    }

    /// The workspace's own secrets, then the global ones it does not override.
    func list(workspace id: String) async throws -> [Listed] {
        let result = try await pool.query("""
            SELECT key, 'workspace', created_at, updated_at FROM public.workspace_secrets WHERE workspace_id = $1
            UNION ALL
            SELECT g.key, 'global', g.created_at, g.updated_at FROM public.global_secrets g
            WHERE NOT EXISTS (SELECT 1 FROM public.workspace_secrets w WHERE w.workspace_id = $1 AND w.key = g.key)
            ORDER BY 2 DESC, 1
            """, [id])
        return try result.rows.map(Self.listed)
    }

    func listGlobal() async throws -> [Listed] {
        let result = try await pool.query("SELECT key, 'global', created_at, updated_at FROM public.global_secrets ORDER BY key")
        return try result.rows.map(Self.listed)
    }

    private static func listed(_ row: PostgresRow) throws -> Listed {
        Listed(key: try row.decode(String.self, at: 0), scope: try row.decode(String.self, at: 1),
               createdAt: try row.decode(Timestamp?.self, at: 2), updatedAt: try row.decode(Timestamp?.self, at: 3))
    }

    func set(workspace id: String, key: String, value: String) async throws {
        let sealed = try cipher.seal(value)
        try await pool.query("""
            INSERT INTO public.workspace_secrets (workspace_id, key, encrypted_value, encryption_version)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (workspace_id, key) DO UPDATE
                SET encrypted_value = EXCLUDED.encrypted_value, encryption_version = EXCLUDED.encryption_version, updated_at = now()
            """, [id, key, PostgresBytes(sealed.bytes), sealed.version])
    }

    func setGlobal(key: String, value: String) async throws {
        let sealed = try cipher.seal(value)
        try await pool.query("""
            INSERT INTO public.global_secrets (key, encrypted_value, encryption_version) VALUES ($1, $2, $3)
            ON CONFLICT (key) DO UPDATE
                SET encrypted_value = EXCLUDED.encrypted_value, encryption_version = EXCLUDED.encryption_version, updated_at = now()
            """, [key, PostgresBytes(sealed.bytes), sealed.version])
    }

    /// False when there was no such secret.
    func delete(workspace id: String, key: String) async throws -> Bool {
        try await pool.query("DELETE FROM public.workspace_secrets WHERE workspace_id = $1 AND key = $2", [id, key]).affectedRows > 0
    }

    func deleteGlobal(key: String) async throws -> Bool {
        try await pool.query("DELETE FROM public.global_secrets WHERE key = $1", [key]).affectedRows > 0
    }

    /// Globals first, then the workspace's own on top. A value that does not decrypt
    /// fails the whole answer: an agent booting with part of its secrets fails later
    /// and more confusingly.
    func values(of id: String) async throws -> [String: String] {
        let result = try await pool.query("""
            SELECT 'global', key, encrypted_value, encryption_version FROM public.global_secrets
            UNION ALL
            SELECT 'workspace', key, encrypted_value, encryption_version FROM public.workspace_secrets WHERE workspace_id = $1
            ORDER BY 1
            """, [id])
        var out: [String: String] = [:]
        var failed: [String] = []
        for row in result.rows {
            let scope = try row.decode(String.self, at: 0)
            let key = try row.decode(String.self, at: 1)
            do {
                out[key] = try cipher.open(try row.decode(PostgresBytes.self, at: 2).bytes, version: try row.decode(Int.self, at: 3))
            } catch let error as APIError {
                throw error
            } catch {
                failed.append("\(scope):\(key)")
            }
        }
        guard failed.isEmpty else { throw SecretsUndecryptable(keys: failed) }
        return out
    }
}

/// Stored values that the configured key cannot open (a wrong or rotated key).
struct SecretsUndecryptable: Error {
    let keys: [String]

    var apiError: APIError {
        APIError(.internalServerError, code: "secrets_undecryptable", """
            secrets failed to decrypt with the configured SECRETS_ENCRYPTION_KEY (wrong key?); \
            refusing to return a partial set: \(keys.joined(separator: ", "))
            """)
    }
}
