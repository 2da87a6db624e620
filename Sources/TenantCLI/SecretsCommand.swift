import ArgumentParser
import Postgres
import TenantConfig
import TenantCrypto
import TenantServer

struct SecretsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secrets",
        abstract: "Manage encrypted workspace secrets.",
        subcommands: [RotateKey.self]
    )

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key",
            abstract: "Re-encrypt every stored secret under a new SECRETS_ENCRYPTION_KEY.",
            discussion: """
                Reads the current key from SECRETS_ENCRYPTION_KEY and the new one from --new-key-file \
                (or SECRETS_ENCRYPTION_KEY_NEW); keys never go on the command line. Every secret moves \
                to the new key in one transaction, or none does. Running it again is harmless: rows \
                already under the new key are left alone. Afterwards put the new key in \
                /etc/molecule-tenant/secrets.env and restart the servers; until then they cannot read \
                the rotated secrets.

                Example:
                  openssl rand -base64 32 > /root/new.key && chmod 600 /root/new.key
                  molecule-tenant secrets rotate-key --new-key-file /root/new.key
                """
        )
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("File holding the new key (32 bytes as hex or base64).", valueName: "FILE"))
        var newKeyFile: String?

        func run() async throws {
            let context = try CommandContext.prepare(global, label: "secrets")
            let current = try SecretsKeySetting.optional(context.environment)
            let next = try newKey(context.environment)
            if let current, current.bytes == next.bytes {
                throw CLIFailure("the new key is the key in use now: generate a fresh one (openssl rand -base64 32)", exitCode: 2)
            }
            let conninfo = ConninfoCompatibility.dropSearchPath(try context.environment.require("DATABASE_URL"))
            let pool = PostgresPool(.init(conninfo: conninfo, maxConnections: 1, acquireTimeout: .seconds(30)), logger: context.logger)
            let report: SecretKeyRotation.Report
            do {
                report = try await SecretKeyRotation(pool: pool, current: current, next: next).run()
                await pool.shutdown()
            } catch let failure as SecretKeyRotation.Failure {
                await pool.shutdown()
                throw CLIFailure("secrets rotate-key: \(failure.description)")
            } catch let error as PostgresError {
                await pool.shutdown()
                throw CLIFailure("secrets rotate-key: database error \(error.description) (is DATABASE_URL right, and has `migrate up` run?)")
            }
            if context.options.json {
                try context.emit(report)
            } else {
                context.say("""
                    secrets rotate-key: rotated=\(report.rotated) encrypted=\(report.encrypted) unchanged=\(report.unchanged) \
                    new_key=\(next.fingerprint); now set SECRETS_ENCRYPTION_KEY to the new key and restart the servers
                    """)
            }
        }

        private func newKey(_ environment: TenantEnvironment) throws -> SecretsEncryptionKey {
            let text: String
            if let newKeyFile {
                switch readTextFile(newKeyFile) {
                case .success(let contents): text = contents
                case .failure(let error): throw CLIFailure("cannot read --new-key-file \(newKeyFile): \(error)")
                }
            } else if let value = environment["SECRETS_ENCRYPTION_KEY_NEW"] {
                text = value
            } else {
                throw CLIFailure("give the new key with --new-key-file FILE (or SECRETS_ENCRYPTION_KEY_NEW)", exitCode: 2)
            }
            let trimmed = text.trimmingTrailingNewlines
            guard let key = SecretsEncryptionKey(trimmed) else {
                throw CLIFailure("the new key is not valid: expected \(SecretsEncryptionKey.expectedForm)", exitCode: 2)
            }
            return key
        }
    }
}

/// `SECRETS_ENCRYPTION_KEY` as the server and `secrets rotate-key` read it.
enum SecretsKeySetting {
    /// nil when unset; a set but malformed key is an error naming the variable.
    static func optional(_ environment: TenantEnvironment) throws -> SecretsEncryptionKey? {
        guard let text = environment["SECRETS_ENCRYPTION_KEY"], !text.isEmpty else { return nil }
        guard let key = SecretsEncryptionKey(text) else {
            throw CLIFailure("SECRETS_ENCRYPTION_KEY is not valid: expected \(SecretsEncryptionKey.expectedForm); set it in /etc/molecule-tenant/secrets.env")
        }
        return key
    }
}

extension String {
    fileprivate var trimmingTrailingNewlines: String {
        var text = Substring(self)
        while let last = text.last, last == "\n" || last == "\r" { text = text.dropLast() }
        return String(text)
    }
}
