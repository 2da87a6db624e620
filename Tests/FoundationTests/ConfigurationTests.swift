import Foundation
@testable import TenantConfig
import Testing

@Suite("Configuration")
struct ConfigurationTests {
    @Test func envFilesParseCommentsQuotesAndExport() throws {
        let text = """
            # a comment
            export DATABASE_URL=postgres:///molecule?host=/var/run/postgresql
            PLAIN = spaced value # trailing comment
            DOUBLE="with \\"quotes\\" and # hash"
            SINGLE='literal \\n stays'
            EMPTY=

            """
        let entries = Dictionary(uniqueKeysWithValues: try EnvFile.parse(text).map { ($0.key, $0.value) })
        #expect(entries["DATABASE_URL"] == "postgres:///molecule?host=/var/run/postgresql")
        #expect(entries["PLAIN"] == "spaced value")
        #expect(entries["DOUBLE"] == "with \"quotes\" and # hash")
        #expect(entries["SINGLE"] == "literal \\n stays")
        #expect(entries["EMPTY"] == "")
    }

    @Test func malformedEnvFilesNameTheLine() {
        #expect(throws: EnvFile.ParseError(path: "x.env", line: 2, reason: "expected KEY=VALUE")) {
            try EnvFile.parse("A=1\nnot an assignment", path: "x.env")
        }
        #expect(throws: EnvFile.ParseError.self) { try EnvFile.parse("B=\"unterminated", path: "x.env") }
        #expect(throws: EnvFile.ParseError.self) { try EnvFile.parse("1BAD=x", path: "x.env") }
    }

    @Test func renderedFilesParseBackToTheSameValues() throws {
        let values = [("A", "plain"), ("B", "has space"), ("C", "quote\" and \\ and\nnewline"), ("D", "")]
        let parsed = try EnvFile.parse(EnvFile.render(values))
        #expect(parsed.map(\.key) == values.map(\.0))
        #expect(parsed.map(\.value) == values.map(\.1))
    }

    @Test func resolutionOrderIsDefaultsThenFileThenEnvironmentThenFlags() throws {
        let path = NSTemporaryDirectory() + "tenant-\(UUID().uuidString).env"
        try "PORT=9000\nREDIS_URL=redis://file:6379/1\nRATE_LIMIT=5\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try TenantEnvironment.resolve(
            configFile: path,
            environment: ["REDIS_URL": "redis://env:6379/2", "RATE_LIMIT": "7"],
            flags: ["RATE_LIMIT": "9"]
        )
        #expect(config["BIND_ADDR"] == "0.0.0.0")
        #expect(config.origin(of: "BIND_ADDR") == .builtIn)
        #expect(config["PORT"] == "9000")
        #expect(config.origin(of: "PORT") == .file(path))
        #expect(config["REDIS_URL"] == "redis://env:6379/2")
        #expect(config.origin(of: "REDIS_URL") == .environment)
        #expect(try config.int("RATE_LIMIT") == 9)
        #expect(config.origin(of: "RATE_LIMIT") == .flag)
        #expect(config.files == [path])
    }

    @Test func aMissingConfigFileGivenExplicitlyIsAnError() {
        #expect(throws: ConfigError.self) { try TenantEnvironment.resolve(configFile: "/nonexistent/tenant.env", environment: [:]) }
    }

    @Test func missingAndInvalidValuesSayWhatToDoWithoutShowingSecrets() throws {
        let config = try TenantEnvironment.resolve(configFile: "/dev/null", environment: ["SECRETS_ENCRYPTION_KEY": "s3cr3t-value", "PORT": "eighty"])
        let missing = #expect(throws: ConfigError.self) { try config.require("ADMIN_TOKEN") }
        #expect(missing?.description == "ADMIN_TOKEN is not set: set it in the environment or in /etc/molecule-tenant/secrets.env (or the file given with --config)")
        let invalid = #expect(throws: ConfigError.self) { try config.int("PORT") }
        #expect(invalid?.description == "PORT=\"eighty\" is not valid: expected an integer")
        let secret = #expect(throws: ConfigError.self) { try config.int("SECRETS_ENCRYPTION_KEY") }
        #expect(secret?.description.contains("s3cr3t") == false)
    }

    @Test func durationsUseTheReferenceSyntax() {
        #expect(DurationParser.parse("2s") == .seconds(2))
        #expect(DurationParser.parse("500ms") == .milliseconds(500))
        #expect(DurationParser.parse("1m30s") == .seconds(90))
        #expect(DurationParser.parse("1.5s") == .milliseconds(1500))
        #expect(DurationParser.parse("3") == .seconds(3))
        #expect(DurationParser.parse("7d") == .seconds(7 * 86400))
        #expect(DurationParser.parse("1d12h") == .seconds(36 * 3600))
        #expect(DurationParser.parse("2 parsecs") == nil)
        #expect(DurationParser.parse("") == nil)
        // Refused, never a crash: what Double(text) alone would take, and overflow.
        for text in ["inf", "nan", "-1", "0x10", "1e3", "99999999999999999999", "300000y", "1e20d", "9999999999d", "."] {
            #expect(DurationParser.parse(text) == nil, "\(text)")
        }
    }

    @Test func secretValuesIncludeURLPasswords() throws {
        let config = try TenantEnvironment.resolve(configFile: "/dev/null", environment: [
            "ADMIN_TOKEN": "admin-token-value",
            "DATABASE_URL": "postgres://molecule:db-pass-123@127.0.0.1/molecule",
            "REDIS_URL": "redis://:redis-pass-456@127.0.0.1:6379/0",
            "MEMORY_PLUGIN_DATABASE_URL": "host=/run user=x password='quoted pass'",
        ])
        #expect(Set(config.secretValues) == ["admin-token-value", "db-pass-123", "redis-pass-456", "quoted pass"])
    }
}
