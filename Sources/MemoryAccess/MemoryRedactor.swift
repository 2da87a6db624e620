/// The outcome of redacting one text.
public struct Redaction: Sendable, Equatable {
    /// The text with every secret replaced by `[REDACTED:<kind>]`; the input itself
    /// when nothing was found.
    public let text: String
    /// The kinds that fired, each once, in order of first appearance. Log these, never
    /// the values.
    public let kinds: [SecretKind]

    public var changed: Bool { !kinds.isEmpty }
}

/// Removes secrets from memory content before every write, so a confused or
/// prompt-injected agent cannot park credentials in memory that other workspaces read.
/// Covers what the reference scrubs (`*_API_KEY=`, `*_TOKEN=`, `*_SECRET=` assignments,
/// `Bearer` values, `sk-` keys, `ctx7_` tokens, long base64 blobs) and more: password
/// and secret fields in env, YAML and JSON form, GitHub, GitLab, Slack, AWS and Google
/// keys, JWTs, PEM private keys and passwords in URLs.
///
/// One pass over the UTF-8 bytes, no regular expressions: linear in the input, and text
/// without secrets comes back as the very same string. Names and delimiters around a
/// secret are kept (`DB_PASSWORD=[REDACTED:PASSWORD]`) so the memory still reads. Its
/// own output, and the reference's, pass through unchanged.
public struct MemoryRedactor: Sendable {
    public init() {}

    public func redact(_ content: String) -> Redaction {
        var scanner = Scanner(Array(content.utf8))
        scanner.run()
        guard !scanner.kinds.isEmpty else { return Redaction(text: content, kinds: []) }
        return Redaction(text: String(decoding: scanner.output(), as: UTF8.self), kinds: scanner.kinds)
    }
}

// MARK: - The scanner

private struct Match {
    /// The bytes replaced.
    var range: Range<Int>
    var kind: SecretKind
}

private struct Scanner {
    let bytes: [UInt8]
    private var out: [UInt8] = []
    private var emitted = 0
    private(set) var kinds: [SecretKind] = []

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func output() -> [UInt8] {
        out.append(contentsOf: bytes[emitted...])
        emitted = bytes.count
        return out
    }

    mutating func run() {
        var i = 0
        let n = bytes.count
        // Blob runs already judged; a run's tail is judged with its head, which keeps
        // the pass linear.
        var blobCheckedUntil = 0
        while i < n {
            let previous: UInt8 = i > 0 ? bytes[i - 1] : 0x20
            // Secrets start at a word (or blob) boundary: `ask-me-anything` holds no `sk-` key.
            if !Byte.isWord(previous), let match = wordMatch(at: i) {
                apply(match)
                i = match.range.upperBound
                continue
            }
            if i >= blobCheckedUntil, !Byte.isBlob(previous), Byte.isBlob(bytes[i]) {
                let (match, runEnd) = blobMatch(at: i)
                if let match {
                    apply(match)
                    i = match.range.upperBound
                    continue
                }
                blobCheckedUntil = runEnd
            }
            i += 1
        }
    }

    private mutating func apply(_ match: Match) {
        if out.isEmpty { out.reserveCapacity(bytes.count) }
        out.append(contentsOf: bytes[emitted..<match.range.lowerBound])
        out.append(contentsOf: match.kind.replacement.utf8)
        emitted = match.range.upperBound
        if !kinds.contains(match.kind) { kinds.append(match.kind) }
    }

    // MARK: Matchers that start at a word

    private func wordMatch(at i: Int) -> Match? {
        let first = bytes[i]
        if first == UInt8(ascii: "-") { return privateKey(at: i) }
        guard Byte.isAlphanumeric(first) else { return nil }
        let identifierEnd = scan(from: i, while: Byte.isIdentifier)
        if let match = urlPassword(schemeStart: i, schemeEnd: identifierEnd) { return match }
        if let match = prefixedToken(at: i) { return match }
        if let match = bearer(at: i, wordEnd: identifierEnd) { return match }
        return assignment(nameStart: i, nameEnd: identifierEnd)
    }

    /// `-----BEGIN … PRIVATE KEY-----` through the matching END line; a block cut off
    /// before its END is redacted to the end of the text (half a key is still a key).
    private func privateKey(at i: Int) -> Match? {
        guard has("-----BEGIN ", at: i) else { return nil }
        let labelStart = i + 11
        var j = labelStart
        while j < bytes.count, j - labelStart <= 100, Byte.isPEMLabel(bytes[j]) { j += 1 }
        guard j > labelStart, has("-----", at: j) else { return nil }
        let label = bytes[labelStart..<j]
        guard label.count >= 11, Array(label.suffix(11)) == Array("PRIVATE KEY".utf8) else { return nil }
        var k = j + 5
        while k < bytes.count {
            if has("-----END ", at: k) {
                var e = k + 9
                while e < bytes.count, e - k <= 110, Byte.isPEMLabel(bytes[e]) { e += 1 }
                if has("-----", at: e) { return Match(range: i..<(e + 5), kind: .privateKey) }
            }
            k += 1
        }
        return Match(range: i..<bytes.count, kind: .privateKey)
    }

    /// `scheme://user:password@host`: only the password goes.
    private func urlPassword(schemeStart: Int, schemeEnd: Int) -> Match? {
        guard has("://", at: schemeEnd), Byte.isLetter(bytes[schemeStart]) else { return nil }
        let userStart = schemeEnd + 3
        var j = userStart
        var colon: Int?
        while j < bytes.count {
            let b = bytes[j]
            if b == UInt8(ascii: "@") { break }
            if b == UInt8(ascii: "/") || b == UInt8(ascii: "?") || b == UInt8(ascii: "#") || Byte.isSpace(b) || b == UInt8(ascii: "\"")
                || b == UInt8(ascii: "'") || b == UInt8(ascii: "<") || b == UInt8(ascii: ">") {
                return nil
            }
            if b == UInt8(ascii: ":") && colon == nil { colon = j }
            j += 1
        }
        guard j < bytes.count, let colon, colon + 1 < j, !has("[REDACTED:", at: colon + 1) else { return nil }
        return Match(range: (colon + 1)..<j, kind: .urlPassword)
    }

    /// Keys recognisable by their own shape.
    private func prefixedToken(at i: Int) -> Match? {
        let end = scan(from: i, while: Byte.isTokenCharacter)
        let length = end - i
        func run(_ kind: SecretKind) -> Match { Match(range: i..<end, kind: kind) }
        func rest(after prefix: Int, all predicate: (UInt8) -> Bool) -> Bool {
            bytes[(i + prefix)..<end].allSatisfy(predicate)
        }
        switch bytes[i] {
        case UInt8(ascii: "s"):
            if has("sk-", at: i), length >= 3 + 16 { return run(.skToken) }
        case UInt8(ascii: "g"):
            if has("gh", at: i), length >= 4 + 20, "pousr".utf8.contains(bytes[i + 2]), bytes[i + 3] == UInt8(ascii: "_"),
                rest(after: 4, all: Byte.isAlphanumeric) {
                return run(.githubToken)
            }
            if has("github_pat_", at: i), length >= 11 + 20 { return run(.githubToken) }
            if has("glpat-", at: i), length >= 6 + 20 { return run(.gitlabToken) }
        case UInt8(ascii: "x"):
            if has("xox", at: i), length >= 5 + 10, "abposre".utf8.contains(bytes[i + 3]), bytes[i + 4] == UInt8(ascii: "-") {
                return run(.slackToken)
            }
        case UInt8(ascii: "A"):
            if has("AKIA", at: i) || has("ASIA", at: i), length == 20, rest(after: 4, all: Byte.isUpperOrDigit) { return run(.awsAccessKey) }
            if has("AIza", at: i), length == 39 { return run(.googleAPIKey) }
        case UInt8(ascii: "c"):
            if has("ctx7_", at: i), length > 5, rest(after: 5, all: Byte.isAlphanumeric) { return run(.ctx7Token) }
        case UInt8(ascii: "e"):
            return jwt(at: i)
        default:
            break
        }
        return nil
    }

    /// `eyJ<header>.<payload>.<signature>`.
    private func jwt(at i: Int) -> Match? {
        guard has("eyJ", at: i) else { return nil }
        let headerEnd = scan(from: i, while: Byte.isBase64URL)
        guard headerEnd - i >= 10, has(".", at: headerEnd) else { return nil }
        let payloadEnd = scan(from: headerEnd + 1, while: Byte.isBase64URL)
        guard payloadEnd - headerEnd - 1 >= 10, has(".", at: payloadEnd) else { return nil }
        let signatureEnd = scan(from: payloadEnd + 1, while: Byte.isBase64URL)
        return Match(range: i..<signatureEnd, kind: .jwt)
    }

    /// `Bearer <token>`; the word stays. "Bearer tokens expire" is prose, not a secret:
    /// the value must look like a credential (a digit, or 20+ characters).
    private func bearer(at i: Int, wordEnd: Int) -> Match? {
        guard wordEnd - i == 6, Byte.lowercased(bytes[i..<wordEnd]) == "bearer" else { return nil }
        var j = wordEnd
        while j < bytes.count, bytes[j] == UInt8(ascii: " ") || bytes[j] == UInt8(ascii: "\t") { j += 1 }
        guard j > wordEnd else { return nil }
        var end = scan(from: j, while: Byte.isToken68)
        while end < bytes.count, bytes[end] == UInt8(ascii: "=") { end += 1 }
        let value = bytes[j..<end]
        guard value.count >= 8, value.count >= 20 || value.contains(where: Byte.isDigit) else { return nil }
        return Match(range: j..<end, kind: .bearerToken)
    }

    /// `NAME=value`, `NAME: value`, `"name": "value"` where the name ends in a secret
    /// word. The name and quotes stay; the value goes.
    private func assignment(nameStart: Int, nameEnd: Int) -> Match? {
        guard let kind = Self.secretKind(ofName: bytes[nameStart..<nameEnd]) else { return nil }
        var j = nameEnd
        if j < bytes.count, bytes[j] == UInt8(ascii: "\"") || bytes[j] == UInt8(ascii: "'") { j += 1 }
        j = skipBlanks(from: j)
        guard j < bytes.count else { return nil }
        let separator = bytes[j]
        if separator == UInt8(ascii: "=") {
            // `token == x` and `token =~ x` compare; `=>` (a hash) assigns.
            if j + 1 < bytes.count, bytes[j + 1] == UInt8(ascii: "=") || bytes[j + 1] == UInt8(ascii: "~") { return nil }
            j += 1
            if j < bytes.count, bytes[j] == UInt8(ascii: ">") { j += 1 }
        } else if separator == UInt8(ascii: ":") {
            j += 1
            if j < bytes.count, bytes[j] == UInt8(ascii: "=") { j += 1 }
        } else {
            return nil
        }
        j = skipBlanks(from: j)
        guard j < bytes.count else { return nil }

        let value: Range<Int>
        let quoted: Bool
        if let close = closingQuote(from: j) {
            value = (j + 1)..<close
            quoted = true
        } else {
            value = j..<scan(from: j, while: Byte.isUnquotedValue)
            quoted = false
        }
        guard !value.isEmpty, !Self.isPlaceholder(bytes[value]) else { return nil }
        // `Token: 42 used` is prose. A colon after a plain word needs a quoted or
        // credential-looking value; env-style names (`DB_PASSWORD:`) do not.
        if separator == UInt8(ascii: ":"), !quoted, !Self.isEnvironmentStyle(bytes[nameStart..<nameEnd]) {
            let text = bytes[value]
            guard text.count >= 6, text.contains(where: { Byte.isDigit($0) || !Byte.isAlphanumeric($0) }) else { return nil }
        }
        return Match(range: value, kind: kind)
    }

    /// The kind of secret a field name announces, by its last word(s).
    static func secretKind(ofName name: ArraySlice<UInt8>) -> SecretKind? {
        let words = Byte.lowercased(name).split(whereSeparator: { $0 == "_" || $0 == "-" || $0 == "." })
        guard let last = words.last else { return nil }
        let previous = words.count >= 2 ? words[words.count - 2] : ""
        switch last {
        case "password", "passwd", "pwd", "passphrase": return .password
        case "secret": return .secret
        case "token": return .token
        case "apikey": return .apiKey
        case "key":
            switch previous {
            case "api": return .apiKey
            case "secret", "private", "signing", "encryption", "access": return .secret
            default: return nil
            }
        default: return nil
        }
    }

    /// `DB_PASSWORD`, `x-api-key`, `PASSWORD`: a field name rather than an English word.
    static func isEnvironmentStyle(_ name: ArraySlice<UInt8>) -> Bool {
        name.contains { $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }
            || name.allSatisfy { Byte.isUpperOrDigit($0) }
    }

    /// Values that stand for a secret without being one: references, templates, masks,
    /// empty markers and text we (or the reference) already redacted.
    static func isPlaceholder(_ value: ArraySlice<UInt8>) -> Bool {
        guard let first = value.first else { return true }
        if first == UInt8(ascii: "$") || first == UInt8(ascii: "<") || first == UInt8(ascii: "%") { return true }
        if value.starts(with: "{{".utf8) || value.starts(with: "[REDACTED".utf8) { return true }
        if value.allSatisfy({ $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "x") || $0 == UInt8(ascii: "X") || $0 == UInt8(ascii: ".") }) { return true }
        return ["null", "nil", "none", "true", "false", "undefined", "redacted"].contains(Byte.lowercased(value))
    }

    /// The index of the quote closing a value that starts with one, on the same line.
    private func closingQuote(from j: Int) -> Int? {
        let quote = bytes[j]
        guard quote == UInt8(ascii: "\"") || quote == UInt8(ascii: "'") || quote == UInt8(ascii: "`") else { return nil }
        var k = j + 1
        while k < bytes.count, bytes[k] != UInt8(ascii: "\n") {
            if bytes[k] == UInt8(ascii: "\\") {
                k += 2
                continue
            }
            if bytes[k] == quote { return k }
            k += 1
        }
        return nil
    }

    // MARK: Blobs

    /// A run of base64 characters of 33 or more (the reference's threshold) that looks
    /// random: upper case, lower case and digits, high entropy, and no words in it. Hex
    /// digests and git commit ids (one case only), CamelCase names and paths stay.
    private func blobMatch(at i: Int) -> (Match?, Int) {
        let runEnd = scan(from: i, while: Byte.isBlob)
        guard runEnd - i >= 33 else { return (nil, runEnd) }
        var end = runEnd
        while end < bytes.count, end - runEnd < 2, bytes[end] == UInt8(ascii: "=") { end += 1 }
        let run = bytes[i..<runEnd]
        let slashes = run.count(where: { $0 == UInt8(ascii: "/") })
        let random: Bool
        if slashes >= 2 && !run.contains(UInt8(ascii: "+")) {
            // Probably a path: only a long random segment of it counts.
            random = run.split(separator: UInt8(ascii: "/")).contains { $0.count >= 24 && Self.looksRandom($0) }
        } else {
            random = Self.looksRandom(run)
        }
        return (random ? Match(range: i..<end, kind: .base64Blob) : nil, runEnd)
    }

    static func looksRandom(_ run: ArraySlice<UInt8>) -> Bool {
        var upper = 0, lower = 0, digits = 0
        // Lower-case letters inside runs of four or more: most of them in a CamelCase
        // name or English, few in random base64 (where a letter is lower case 40% of the time).
        var lowerInWords = 0
        var lowerRun = 0
        var counts = [Int](repeating: 0, count: 128)
        for b in run where b < 128 {
            counts[Int(b)] += 1
            if b >= 0x61 && b <= 0x7A {
                lower += 1
                lowerRun += 1
                if lowerRun == 4 { lowerInWords += 4 } else if lowerRun > 4 { lowerInWords += 1 }
                continue
            }
            lowerRun = 0
            if Byte.isDigit(b) { digits += 1 } else if b >= 0x41 && b <= 0x5A { upper += 1 }
        }
        guard upper >= 2, lower >= 2, digits >= 2, lowerInWords * 2 < lower else { return false }
        let total = Double(run.count)
        var entropy = 0.0
        for count in counts where count > 0 {
            let p = Double(count) / total
            entropy -= p * log2(p)
        }
        return entropy >= 4.0
    }

    // MARK: Helpers

    private func has(_ literal: StaticString, at i: Int) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard i >= 0, i + count <= bytes.count else { return false }
        return literal.withUTF8Buffer { buffer in
            var k = 0
            while k < count {
                if bytes[i + k] != buffer[k] { return false }
                k += 1
            }
            return true
        }
    }

    private func scan(from i: Int, while predicate: (UInt8) -> Bool) -> Int {
        var j = i
        while j < bytes.count, predicate(bytes[j]) { j += 1 }
        return j
    }

    private func skipBlanks(from i: Int) -> Int {
        scan(from: i, while: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") })
    }
}

/// log2 without Foundation.
private func log2(_ x: Double) -> Double {
    // ln(x) / ln(2) through the exponent and a short series keeps this dependency-free;
    // precision to 1e-9 is plenty for an entropy threshold.
    var exponent = 0.0
    var m = x
    while m >= 2 { m /= 2; exponent += 1 }
    while m < 1 { m *= 2; exponent -= 1 }
    // m in [1, 2): ln(m) = 2 * atanh((m - 1) / (m + 1))
    let t = (m - 1) / (m + 1)
    let t2 = t * t
    var term = t
    var sum = 0.0
    var k = 1.0
    while k < 40 {
        sum += term / k
        term *= t2
        k += 2
    }
    return exponent + 2 * sum / 0.693_147_180_559_945_3
}

/// ASCII byte classes.
private enum Byte {
    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    static func isLetter(_ b: UInt8) -> Bool { (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
    static func isAlphanumeric(_ b: UInt8) -> Bool { isDigit(b) || isLetter(b) }
    static func isUpperOrDigit(_ b: UInt8) -> Bool { isDigit(b) || (b >= 0x41 && b <= 0x5A) }
    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C }
    /// Characters that continue a word for boundary purposes.
    static func isWord(_ b: UInt8) -> Bool { isAlphanumeric(b) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") }
    /// Field names: `DB_PASSWORD`, `x-api-key`, `spring.datasource.password`.
    static func isIdentifier(_ b: UInt8) -> Bool { isWord(b) || b == UInt8(ascii: ".") }
    static func isTokenCharacter(_ b: UInt8) -> Bool { isWord(b) }
    static func isBase64URL(_ b: UInt8) -> Bool { isAlphanumeric(b) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-") }
    static func isBlob(_ b: UInt8) -> Bool { isAlphanumeric(b) || b == UInt8(ascii: "+") || b == UInt8(ascii: "/") }
    static func isToken68(_ b: UInt8) -> Bool {
        isAlphanumeric(b) || b == UInt8(ascii: "-") || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "~")
            || b == UInt8(ascii: "+") || b == UInt8(ascii: "/")
    }
    static func isPEMLabel(_ b: UInt8) -> Bool { isUpperOrDigit(b) || b == UInt8(ascii: " ") || b == UInt8(ascii: "_") }
    /// An unquoted value ends at white space, a quote, or punctuation that closes or
    /// separates (`&` in a query string, `,` `;` in a list, brackets).
    static func isUnquotedValue(_ b: UInt8) -> Bool {
        !(isSpace(b) || b == UInt8(ascii: "&") || b == UInt8(ascii: ",") || b == UInt8(ascii: ";") || b == UInt8(ascii: ")")
            || b == UInt8(ascii: "]") || b == UInt8(ascii: "}") || b == UInt8(ascii: ">") || b == UInt8(ascii: "\"")
            || b == UInt8(ascii: "'") || b == UInt8(ascii: "`"))
    }

    static func lowercased<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        String(decoding: bytes.map { $0 >= 0x41 && $0 <= 0x5A ? $0 + 32 : $0 }, as: UTF8.self)
    }
}
