/// Parses `KEY=VALUE` files in the shape systemd's `EnvironmentFile=` and shells accept:
/// blank lines and `#` comments are ignored, an optional `export ` prefix is allowed,
/// values may be single- or double-quoted (double quotes understand `\"`, `\\`, `\n`).
public enum EnvFile {
    public struct ParseError: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let line: Int
        public let reason: String
        public var description: String { "\(path):\(line): \(reason)" }
    }

    public static func parse(_ text: String, path: String = "<env>") throws(ParseError) -> [(key: String, value: String)] {
        var entries: [(key: String, value: String)] = []
        var lineNumber = 0
        for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            var line = Substring(rawLine)
            if line.hasSuffix("\r") { line = line.dropLast() }
            line = line.drop(while: { $0 == " " || $0 == "\t" })
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = line.dropFirst("export ".count).drop(while: { $0 == " " }) }
            guard let equals = line.firstIndex(of: "=") else {
                throw ParseError(path: path, line: lineNumber, reason: "expected KEY=VALUE")
            }
            let key = String(line[..<equals]).trimmingSpaces()
            guard isValidName(key) else {
                throw ParseError(path: path, line: lineNumber, reason: "invalid variable name \"\(key)\"")
            }
            let value = try parseValue(line[line.index(after: equals)...], path: path, line: lineNumber)
            entries.append((key, value))
        }
        return entries
    }

    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return name.utf8.allSatisfy { $0 == UInt8(ascii: "_") || isLetter($0) || ($0 >= 48 && $0 <= 57) }
    }

    private static func isLetter(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) }

    private static func parseValue(_ raw: Substring, path: String, line: Int) throws(ParseError) -> String {
        let value = raw.drop(while: { $0 == " " || $0 == "\t" })
        guard let quote = value.first, quote == "\"" || quote == "'" else {
            // Unquoted: an inline comment starts at " #", as in shells.
            var text = String(value)
            if let comment = text.firstRange(of: " #") { text = String(text[..<comment.lowerBound]) }
            return text.trimmingSpaces()
        }
        var out = ""
        var index = value.index(after: value.startIndex)
        while index < value.endIndex {
            let char = value[index]
            if char == quote {
                let rest = value[value.index(after: index)...].trimmingSpaces()
                guard rest.isEmpty || rest.hasPrefix("#") else {
                    throw ParseError(path: path, line: line, reason: "unexpected text after closing quote")
                }
                return out
            }
            if quote == "\"" && char == "\\" {
                let next = value.index(after: index)
                guard next < value.endIndex else { break }
                switch value[next] {
                case "n": out.append("\n")
                case "t": out.append("\t")
                default: out.append(value[next])
                }
                index = value.index(after: next)
                continue
            }
            out.append(char)
            index = value.index(after: index)
        }
        throw ParseError(path: path, line: line, reason: "missing closing \(quote)")
    }

    /// Renders entries back into a file, quoting values when needed, so a written file parses to the same values.
    public static func render(_ entries: [(key: String, value: String)]) -> String {
        var out = ""
        for (key, value) in entries {
            let plain = !value.isEmpty && value.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_./:@+,=%".contains($0)) }
            if plain {
                out += "\(key)=\(value)\n"
            } else {
                var escaped = ""
                for char in value {
                    switch char {
                    case "\"": escaped += "\\\""
                    case "\\": escaped += "\\\\"
                    case "\n": escaped += "\\n"
                    default: escaped.append(char)
                    }
                }
                out += "\(key)=\"\(escaped)\"\n"
            }
        }
        return out
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice = slice.dropFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice = slice.dropLast() }
        return String(slice)
    }
}
