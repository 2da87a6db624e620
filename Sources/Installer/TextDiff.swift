/// A unified-style line diff of a file (small config files only), for plans and reports.
/// `mask` rewrites each line before comparing and printing, so a secret's value never
/// appears: only that the line is added, removed or kept.
public enum TextDiff {
    public static func render(path: String, old: String?, new: String, mask: (String) -> String = { $0 }) -> String {
        let before = (old ?? "").split(separator: "\n", omittingEmptySubsequences: false).map { mask(String($0)) }.dropLastEmpty()
        let after = new.split(separator: "\n", omittingEmptySubsequences: false).map { mask(String($0)) }.dropLastEmpty()
        var lines = ["--- \(old == nil ? "/dev/null" : path)", "+++ \(path)"]
        for (kind, line) in diff(before, after) where kind != " " {
            lines.append("\(kind)\(line)")
        }
        return lines.joined(separator: "\n")
    }

    /// Longest-common-subsequence diff: " " kept, "-" removed, "+" added.
    static func diff(_ a: [String], _ b: [String]) -> [(Character, String)] {
        var table = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in stride(from: a.count - 1, through: 0, by: -1) {
            for j in stride(from: b.count - 1, through: 0, by: -1) {
                table[i][j] = a[i] == b[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
            }
        }
        var out: [(Character, String)] = []
        var i = 0
        var j = 0
        while i < a.count || j < b.count {
            if i < a.count, j < b.count, a[i] == b[j] {
                out.append((" ", a[i])); i += 1; j += 1
            } else if j < b.count, i == a.count || table[i][j + 1] >= table[i + 1][j] {
                out.append(("+", b[j])); j += 1
            } else {
                out.append(("-", a[i])); i += 1
            }
        }
        return out
    }

    /// Masks `KEY=value` lines: the value becomes `<secret>`.
    public static func maskEnvValues(_ line: String) -> String {
        guard !line.hasPrefix("#"), let equals = line.firstIndex(of: "=") else { return line }
        return line[..<equals] + "=<secret>"
    }
}

extension Array where Element == String {
    fileprivate func dropLastEmpty() -> [String] {
        last == "" ? Array(dropLast()) : self
    }
}
