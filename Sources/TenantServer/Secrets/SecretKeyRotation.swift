import Postgres
import TenantCrypto

/// Re-encrypts every stored secret (workspace and global) under a new key in one
/// transaction: either every row moves to the new key or none does. Rows already
/// under the new key (a repeated run) are left as they are; plaintext rows the
/// reference wrote without a key are encrypted. A row neither key opens aborts the
/// whole rotation and is named in the error.
public struct SecretKeyRotation: Sendable {
    let pool: PostgresPool
    let current: SecretsEncryptionKey?
    let next: SecretsEncryptionKey

    public init(pool: PostgresPool, current: SecretsEncryptionKey?, next: SecretsEncryptionKey) {
        self.pool = pool
        self.current = current
        self.next = next
    }

    public struct Report: Sendable, Encodable {
        /// Rows re-encrypted under the new key.
        public var rotated = 0
        /// Rows that were plaintext and are now encrypted.
        public var encrypted = 0
        /// Rows already under the new key.
        public var unchanged = 0
    }

    public struct Failure: Error, CustomStringConvertible {
        public let keys: [String]
        public var description: String {
            "no key opens \(keys.count) stored secret(s) (\(keys.prefix(10).joined(separator: ", "))): nothing was changed; "
                + "check SECRETS_ENCRYPTION_KEY is the key the server uses now"
        }
    }

    public func run() async throws -> Report {
        let old = SecretCipher(key: current)
        let new = SecretCipher(key: next)
        return try await pool.transaction { session in
            var report = Report()
            var failed: [String] = []
            var updates: [(table: String, id: String, bytes: [UInt8])] = []
            for table in ["workspace_secrets", "global_secrets"] {
                // FOR UPDATE: a secret written meanwhile waits and lands after, under whichever key the writer has.
                let rows = try await session.query("SELECT id, key, encrypted_value, encryption_version FROM public.\(table) ORDER BY id FOR UPDATE")
                for row in rows.rows {
                    let id = try row.decode(String.self, at: 0)
                    let bytes = try row.decode(PostgresBytes.self, at: 2).bytes
                    let version = try row.decode(Int.self, at: 3)
                    if version == SecretCipher.Version.aesGCM, (try? new.open(bytes, version: version)) != nil {
                        report.unchanged += 1
                        continue
                    }
                    guard let plaintext = try? old.open(bytes, version: version) else {
                        failed.append("\(table == "global_secrets" ? "global" : "workspace"):\(try row.decode(String.self, at: 1))")
                        continue
                    }
                    if version == SecretCipher.Version.plaintext { report.encrypted += 1 } else { report.rotated += 1 }
                    updates.append((table, id, try new.seal(plaintext).bytes))
                }
            }
            guard failed.isEmpty else { throw Failure(keys: failed) }
            for update in updates {
                try await session.query(
                    "UPDATE public.\(update.table) SET encrypted_value = $2, encryption_version = 1, updated_at = now() WHERE id = $1",
                    [update.id, PostgresBytes(update.bytes)])
            }
            return report
        }
    }
}
