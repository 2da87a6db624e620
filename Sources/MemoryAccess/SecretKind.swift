/// The kinds of secret `MemoryRedactor` removes; the raw value is the label in the
/// replacement text `[REDACTED:<label>]`. Labels the reference uses keep its spelling,
/// so content it already redacted reads the same.
public enum SecretKind: String, Sendable, CaseIterable, Codable {
    /// `OPENAI_API_KEY=…`, `x-api-key: …`, `"apikey": "…"`
    case apiKey = "API_KEY"
    /// `GITHUB_TOKEN=…`, `access_token=…`, `"token": "…"`
    case token = "TOKEN"
    /// `CLIENT_SECRET=…`, `secret_key=…`, `private_key: …`
    case secret = "SECRET"
    /// `password=…`, `DB_PASSWORD: …`, `passwd=…`
    case password = "PASSWORD"
    /// `Bearer <token>` (the word `Bearer` is kept)
    case bearerToken = "BEARER_TOKEN"
    /// OpenAI and Anthropic keys, `sk-…`
    case skToken = "SK_TOKEN"
    /// `ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_` and `github_pat_` tokens
    case githubToken = "GITHUB_TOKEN"
    /// `glpat-…`
    case gitlabToken = "GITLAB_TOKEN"
    /// `AKIA…` and `ASIA…` access key ids
    case awsAccessKey = "AWS_ACCESS_KEY"
    /// `xoxb-`, `xoxp-`, `xoxa-`, `xoxr-`, `xoxs-`, `xoxe-` tokens
    case slackToken = "SLACK_TOKEN"
    /// `AIza…`
    case googleAPIKey = "GOOGLE_API_KEY"
    /// context7 tokens, `ctx7_…`
    case ctx7Token = "CTX7_TOKEN"
    /// `eyJ….eyJ….…`
    case jwt = "JWT"
    /// PEM blocks `-----BEGIN … PRIVATE KEY-----` through their END line
    case privateKey = "PRIVATE_KEY"
    /// The password of `scheme://user:password@host` (user and host are kept)
    case urlPassword = "URL_PASSWORD"
    /// Long high-entropy base64-like strings
    case base64Blob = "BASE64_BLOB"

    /// `[REDACTED:<label>]`
    public var replacement: String { "[REDACTED:\(rawValue)]" }
}
