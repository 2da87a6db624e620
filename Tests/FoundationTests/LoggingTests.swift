import Logging
@testable import TenantLogging
import Testing

@Suite("Logging and redaction")
struct LoggingTests {
    let redactor = Redactor(secrets: ["super-secret-admin-token", "short"])

    @Test func knownSecretsBearerTokensAndPasswordsAreRedacted() {
        let line = redactor.redact(
            "admin=super-secret-admin-token auth=\"Bearer abc.def-123\" db=postgres://u:pw-999@host/db conn=\"host=x password='p w' user=y\" q=redis://h?password=zz&x=1 bearer lower-token"
        )
        #expect(!line.contains("super-secret-admin-token"))
        #expect(!line.contains("abc.def-123"))
        #expect(!line.contains("pw-999"))
        #expect(!line.contains("'p w'"))
        #expect(!line.contains("zz&"))
        #expect(!line.contains("lower-token"))
        #expect(line.contains("postgres://u:<redacted>@host/db"))
        #expect(line.contains("Bearer <redacted>"))
    }

    @Test func shortValuesAreNotTreatedAsSecrets() {
        // Replacing every "short" would wreck logs and protect nothing.
        #expect(redactor.redact("a short note") == "a short note")
    }

    @Test func jsonLinesAreValidJSONWithRedactedFields() throws {
        let handler = TenantLogHandler(label: "test", level: .info, format: .json, redactor: redactor)
        let line = handler.render(level: .warning, message: "token super-secret-admin-token \"quoted\"\n", metadata: ["dsn": "postgres://a:b-secret@h/d"])
        #expect(line.hasSuffix("}\n"))
        #expect(line.contains(#""level":"warning""#))
        #expect(line.contains(#""msg":"token <redacted> \"quoted\"\n""#))
        #expect(line.contains(#""dsn":"postgres://a:<redacted>@h/d""#))
    }

    @Test func logLevelsAcceptTheReferenceNames() {
        #expect(TenantLogging.level("warn") == .warning)
        #expect(TenantLogging.level("DEBUG") == .debug)
        #expect(TenantLogging.level(nil) == .info)
        #expect(TenantLogging.level("loud") == nil)
    }
}
