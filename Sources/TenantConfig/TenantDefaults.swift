/// Built-in defaults and the names of the variables (DESIGN section 3). Names are the
/// reference implementation's, so hosted images can swap binaries without changing env.
public enum TenantDefaults {
    public static let values: [String: String] = [
        "DATABASE_URL": "postgres:///molecule?host=/var/run/postgresql",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "PORT": "8080",
        "BIND_ADDR": "0.0.0.0",
        "MEMORY_PLUGIN_URL": "http://127.0.0.1:9100",
        "MEMORY_PLUGIN_TIMEOUT": "2s",
        "MEMORY_PLUGIN_LISTEN_ADDR": "127.0.0.1:9100",
        "MEMORY_PLUGIN_EMBEDDING_DIMS": "1536",
        "RATE_LIMIT": "600",
        "LIVENESS_TTL_SECONDS": "180",
        "MEMORY_PLUGIN_REQUIRED": "1",
        "MEMORY_PLUGIN_BOOT_WAIT": "30s",
        "LOG_LEVEL": "info",
    ]

    /// Variables whose values are secrets: never printed, never logged.
    public static let secretKeys: Set<String> = [
        "ADMIN_TOKEN", "SECRETS_ENCRYPTION_KEY", "SECRETS_ENCRYPTION_KEY_NEW", "MOLECULE_CP_SHARED_SECRET", "REDIS_PASSWORD", "PGPASSWORD",
    ]

    /// Variables holding URLs or conninfo strings that may embed a password.
    public static let urlKeys: [String] = [
        "DATABASE_URL", "MEMORY_PLUGIN_DATABASE_URL", "REDIS_URL",
    ]
}

/// Finds the password inside `scheme://user:password@host` URLs and `password=...` conninfo.
public enum URLPassword {
    public static func extract(from text: String) -> String? {
        if let schemeEnd = text.firstRange(of: "://") {
            let rest = text[schemeEnd.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                let password = String(authority[authority.index(after: colon)..<at])
                if !password.isEmpty { return password }
            }
            if let query = text.firstIndex(of: "?") {
                for pair in text[text.index(after: query)...].split(separator: "&") where pair.hasPrefix("password=") {
                    return String(pair.dropFirst("password=".count))
                }
            }
            return nil
        }
        // key=value conninfo: password='quoted value' or password=value
        guard let start = text.firstRange(of: "password=") else { return nil }
        var rest = text[start.upperBound...]
        if rest.first == "'" {
            rest = rest.dropFirst()
            var value = ""
            var iterator = rest.makeIterator()
            while let char = iterator.next() {
                if char == "\\", let escaped = iterator.next() { value.append(escaped); continue }
                if char == "'" { break }
                value.append(char)
            }
            return value.isEmpty ? nil : value
        }
        let value = rest.prefix(while: { $0 != " " })
        return value.isEmpty ? nil : String(value)
    }
}
