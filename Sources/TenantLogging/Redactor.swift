/// Removes secrets from text before it reaches a log line: known secret values (the
/// configured tokens and passwords), bearer tokens, passwords inside URLs and conninfo
/// strings. Each becomes `<redacted>`.
public struct Redactor: Sendable {
    private let secrets: [String]

    /// Secrets shorter than this are ignored: replacing "1" everywhere would destroy logs
    /// while protecting nothing.
    static let minimumSecretLength = 6

    public init(secrets: [String] = []) {
        // Longest first, so a secret that contains another is replaced whole.
        self.secrets = Set(secrets.filter { $0.count >= Self.minimumSecretLength }).sorted { $0.count > $1.count }
    }

    public func redact(_ text: String) -> String {
        var out = text
        for secret in secrets where out.contains(secret) {
            out = out.replacing(secret, with: "<redacted>")
        }
        out = Self.redactBearer(out)
        out = Self.redactURLPasswords(out)
        out = Self.redactKeyValue(out, key: "password=")
        return out
    }

    /// `Bearer abc...` (either case) -> `Bearer <redacted>`
    static func redactBearer(_ text: String) -> String {
        guard text.contains("earer ") else { return text }
        var out = ""
        var rest = Substring(text)
        while let range = earliest(rest.firstRange(of: "Bearer "), rest.firstRange(of: "bearer ")) {
            out += rest[..<range.upperBound]
            rest = rest[range.upperBound...]
            let token = rest.prefix(while: { !$0.isWhitespace && $0 != "\"" && $0 != "," })
            if !token.isEmpty { out += "<redacted>" }
            rest = rest[token.endIndex...]
        }
        return out + rest
    }

    private static func earliest(_ a: Range<Substring.Index>?, _ b: Range<Substring.Index>?) -> Range<Substring.Index>? {
        guard let a else { return b }
        guard let b else { return a }
        return a.lowerBound <= b.lowerBound ? a : b
    }

    /// `scheme://user:secret@host` -> `scheme://user:<redacted>@host`
    static func redactURLPasswords(_ text: String) -> String {
        guard text.contains("://") else { return text }
        var out = ""
        var rest = Substring(text)
        while let scheme = rest.firstRange(of: "://") {
            out += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let authority = rest.prefix(while: { $0 != "/" && $0 != "?" && !$0.isWhitespace && $0 != "\"" })
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                out += authority[..<authority.index(after: colon)] + "<redacted>"
                rest = rest[at...]
            }
        }
        return out + rest
    }

    /// `password=secret` (conninfo, query strings) -> `password=<redacted>`
    static func redactKeyValue(_ text: String, key: String) -> String {
        guard text.contains(key) else { return text }
        var out = ""
        var rest = Substring(text)
        while let range = rest.firstRange(of: key) {
            out += rest[..<range.upperBound]
            rest = rest[range.upperBound...]
            let value: Substring
            if rest.first == "'" {
                let closing = rest.dropFirst().firstIndex(of: "'").map { rest.index(after: $0) } ?? rest.endIndex
                value = rest[..<closing]
            } else {
                value = rest.prefix(while: { !$0.isWhitespace && $0 != "&" && $0 != "\"" })
            }
            if !value.isEmpty { out += "<redacted>" }
            rest = rest[value.endIndex...]
        }
        return out + rest
    }
}
