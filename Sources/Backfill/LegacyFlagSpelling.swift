/// The reference's `memory-backfill` took Go-style flags (`-apply`, `-verify-sample=50`);
/// existing runbooks keep working because they are rewritten to ours before parsing.
public enum LegacyFlagSpelling {
    static let flags: Set<String> = ["dry-run", "apply", "verify", "verify-sample", "workspace", "limit", "batch-size", "json", "quiet", "verbose", "config"]
    static let booleans: Set<String> = ["dry-run", "apply", "verify", "json", "quiet", "verbose"]

    public static func rewrite(_ arguments: [String]) -> [String] {
        guard arguments.first == "backfill" else { return arguments }
        var out = ["backfill"]
        for argument in arguments.dropFirst() {
            guard argument.hasPrefix("-"), !argument.hasPrefix("--"), argument.count > 2 else {
                out.append(argument)
                continue
            }
            let body = argument.dropFirst()
            let name = String(body.prefix { $0 != "=" })
            guard flags.contains(name) else {
                out.append(argument)
                continue
            }
            // Go accepts `-apply=true` for booleans; `=false` means the flag is off.
            if booleans.contains(name), let equals = body.firstIndex(of: "=") {
                let value = body[body.index(after: equals)...].lowercased()
                if ["true", "1", "t"].contains(value) { out.append("--" + name) }
                continue
            }
            out.append("-" + argument)
        }
        return out
    }
}
