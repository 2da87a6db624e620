import MemoryAccess
import Testing

@Suite("Memory redactor")
struct MemoryRedactorTests {
    let redactor = MemoryRedactor()

    // Fake credentials with the real shapes; none of them is live.
    static let openAIKey = "sk-proj-AbCdEf0123456789GhIjKl"
    static let anthropicKey = "sk-ant-api03-AbCdEf0123456789_GhIjKl-mn"
    static let githubClassic = "ghp_gLKOmxgJTeKdNnFRIBXuDL7DxtpYlSXpfKtH"
    static let githubFine = "github_pat_11ABCDEFG0123456789_abcdefghijKLMNOPQRSTUVWXYZ0123456789abcdef"
    static let awsKeyID = "AKIAODZDOC9IS0J8HT9L"
    static let slack = "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOp"
    static let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    static let blob = "UvImZaYMEtKJGF2VDuiBNgkWb2sRPReNbA/TkB/y"

    /// (input, expected output, kind that fired)
    static let positives: [(String, String, SecretKind)] = [
        ("OPENAI_API_KEY=\(openAIKey)", "OPENAI_API_KEY=[REDACTED:API_KEY]", .apiKey),
        ("export GITHUB_TOKEN=\"\(githubClassic)\"", "export GITHUB_TOKEN=\"[REDACTED:TOKEN]\"", .token),
        ("CLIENT_SECRET = s3cr3t-value!", "CLIENT_SECRET = [REDACTED:SECRET]", .secret),
        ("db password=hunter2 for prod", "db password=[REDACTED:PASSWORD] for prod", .password),
        ("DB_PASSWORD: swordfish", "DB_PASSWORD: [REDACTED:PASSWORD]", .password),
        (#"{"password": "correct horse battery", "user": "ann"}"#, #"{"password": "[REDACTED:PASSWORD]", "user": "ann"}"#, .password),
        ("x-api-key: abc123def456", "x-api-key: [REDACTED:API_KEY]", .apiKey),
        ("spring.datasource.password=Pa55word", "spring.datasource.password=[REDACTED:PASSWORD]", .password),
        ("aws_secret_access_key=abcDEF123/ghiJKL456+mno", "aws_secret_access_key=[REDACTED:SECRET]", .secret),
        ("private_key: 'k3y-material'", "private_key: '[REDACTED:SECRET]'", .secret),
        ("GET /cb?code=1&access_token=abc123&state=x", "GET /cb?code=1&access_token=[REDACTED:TOKEN]&state=x", .token),
        ("Password: hunter2", "Password: [REDACTED:PASSWORD]", .password),
        ("Authorization: Bearer abc123def456ghi789", "Authorization: Bearer [REDACTED:BEARER_TOKEN]", .bearerToken),
        ("curl -H 'authorization: bearer 0123456789abcdef'", "curl -H 'authorization: bearer [REDACTED:BEARER_TOKEN]'", .bearerToken),
        ("use key \(openAIKey) for evals", "use key [REDACTED:SK_TOKEN] for evals", .skToken),
        ("claude key: \(anthropicKey).", "claude key: [REDACTED:SK_TOKEN].", .skToken),
        ("token \(githubClassic) expires", "token [REDACTED:GITHUB_TOKEN] expires", .githubToken),
        ("fine grained \(githubFine)", "fine grained [REDACTED:GITHUB_TOKEN]", .githubToken),
        ("gitlab glpat-AbCdEfGhIj0123456789xy", "gitlab [REDACTED:GITLAB_TOKEN]", .gitlabToken),
        ("aws id \(awsKeyID) in us-east-1", "aws id [REDACTED:AWS_ACCESS_KEY] in us-east-1", .awsAccessKey),
        ("slack \(slack)", "slack [REDACTED:SLACK_TOKEN]", .slackToken),
        ("maps AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "maps [REDACTED:GOOGLE_API_KEY]", .googleAPIKey),
        ("docs ctx7_abcdef123456", "docs [REDACTED:CTX7_TOKEN]", .ctx7Token),
        ("session \(jwt) end", "session [REDACTED:JWT] end", .jwt),
        ("postgres://app:s3cret@db.internal:5432/app", "postgres://app:[REDACTED:URL_PASSWORD]@db.internal:5432/app", .urlPassword),
        ("see https://bob:pa55@example.com/x", "see https://bob:[REDACTED:URL_PASSWORD]@example.com/x", .urlPassword),
        ("blob \(blob) end", "blob [REDACTED:BASE64_BLOB] end", .base64Blob),
        (
            "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA1\nabc\n-----END RSA PRIVATE KEY-----\nafter",
            "key:\n[REDACTED:PRIVATE_KEY]\nafter", .privateKey
        ),
        ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE (truncated", "[REDACTED:PRIVATE_KEY]", .privateKey),
    ]

    @Test(arguments: positives)
    func secretsAreReplacedByTheirKind(input: String, expected: String, kind: SecretKind) {
        let redaction = redactor.redact(input)
        #expect(redaction.text == expected)
        #expect(redaction.kinds.contains(kind), "kinds: \(redaction.kinds)")
        #expect(redaction.changed)
    }

    @Test(arguments: positives)
    func redactingTwiceChangesNothingMore(input: String, expected: String, kind: SecretKind) {
        let once = redactor.redact(input).text
        let twice = redactor.redact(once)
        #expect(twice.text == once)
        #expect(!twice.changed)
    }

    static let negatives: [String] = [
        "The release ships on Friday; ask Ann about the changelog.",
        "Bearer tokens expire after an hour, so refresh them.",
        "Token: the unit of text a model reads.",
        "max_tokens=4096 and temperature=0.2",
        "token_count=12, secrets=3, password_length=16",
        "The password policy needs 12 characters.",
        "if token == nil { return }",
        "password=${DB_PASSWORD} password=<your password> token={{ secrets.TOKEN }} secret=*** api_key=null",
        "use scikit-learn and task-management-overview-document for sk-learning",
        "ask-0123456789abcdefghij is not a key, nor is risk-assessment-for-the-quarter",
        "commit 3f786850e387550fdab836ed7e6dc881de23001b and sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "id 6f1c1f7e-3b8c-4d47-9a5e-2c0b7d9f1e22 in workspace:6f1c1f7e-3b8c-4d47-9a5e-2c0b7d9f1e22",
        "See https://example.com/path/to/page?x=1 and postgres://db.internal:5432/app and mailto:ann@example.com",
        "/usr/local/lib/swift/linux/x86_64/libFoundationEssentials2024.so",
        "Sources/MemoryPluginClient/ConnectionPool2Tests/Version10Handler.swift",
        "AbstractSingletonProxyFactoryBeanConfiguration2024Edition",
        "getUserAccountDetailsByEmailAddressAndTenant42Version7",
        "Base64OfHello: SGVsbG8sIFdvcmxkIQ== is short",
        "AKIA is the prefix of AWS key ids; ghp_ of GitHub tokens; sk- of OpenAI keys.",
        "Use `Authorization: Bearer <token>` with the token from the file.",
        "-----BEGIN PUBLIC KEY-----\n(the key)\n-----END PUBLIC KEY-----",
        "日本語のメモ: パスワードは変更済み。émoji ✅ and [REDACTED:API_KEY] from before",
        "",
    ]

    @Test(arguments: negatives)
    func textWithoutSecretsIsLeftAlone(input: String) {
        let redaction = redactor.redact(input)
        #expect(redaction.text == input)
        #expect(redaction.kinds == [])
    }

    @Test func severalSecretsInOneTextAreAllReplacedAndEachKindListedOnce() {
        let input = "A=1 \(Self.openAIKey) then \(Self.githubClassic) and again \(Self.openAIKey)"
        let redaction = redactor.redact(input)
        #expect(redaction.text == "A=1 [REDACTED:SK_TOKEN] then [REDACTED:GITHUB_TOKEN] and again [REDACTED:SK_TOKEN]")
        #expect(redaction.kinds == [.skToken, .githubToken])
    }

    @Test func theReferencesRedactedTextPassesThroughUnchanged() {
        let legacy = "[REDACTED:API_KEY] and [REDACTED:BEARER_TOKEN] and [REDACTED:SK_TOKEN]"
        #expect(redactor.redact(legacy).text == legacy)
    }

    @Test func textAroundASecretKeepsItsNonASCIICharacters() {
        let redaction = redactor.redact("clé: \(Self.openAIKey) — ✅")
        #expect(redaction.text == "clé: [REDACTED:SK_TOKEN] — ✅")
    }

    @Test func aLargeMemoryIsRedactedQuickly() {
        let paragraph = "The deploy of workspace 42 went fine; password policy unchanged, tokens rotate weekly. "
        let text = String(repeating: paragraph, count: 100_000 / paragraph.utf8.count) + "DB_PASSWORD=abc123"
        let started = ContinuousClock.now
        let redaction = redactor.redact(text)
        let elapsed = ContinuousClock.now - started
        #expect(redaction.text.hasSuffix("DB_PASSWORD=[REDACTED:PASSWORD]"))
        // A generous bound (debug build, busy machine); the point is linear, not a target.
        #expect(elapsed < .seconds(2), "took \(elapsed)")
    }

    @Test func pathologicalInputStaysLinear() {
        let text = String(repeating: "a/", count: 50_000) + String(repeating: "x=", count: 20_000) + String(repeating: "-----BEGIN ", count: 5_000)
        let started = ContinuousClock.now
        _ = redactor.redact(text)
        #expect(ContinuousClock.now - started < .seconds(3))
    }
}
