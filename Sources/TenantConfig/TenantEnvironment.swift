#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The resolved configuration of one command: built-in defaults < config file(s) <
/// process environment < flags (DESIGN section 3). Every command builds exactly one.
public struct TenantEnvironment: Sendable {
    /// Where a value came from, so `doctor` and error messages can say where to change it.
    public enum Origin: Sendable, Equatable, CustomStringConvertible {
        case builtIn
        case file(String)
        case environment
        case flag

        public var description: String {
            switch self {
            case .builtIn: "built-in default"
            case .file(let path): path
            case .environment: "environment"
            case .flag: "command line"
            }
        }
    }

    public private(set) var values: [String: String]
    public private(set) var origins: [String: Origin]
    /// The files that were read, in order.
    public let files: [String]

    /// The config files read when no `--config` is given; a missing file is fine.
    public static let defaultFiles = ["/etc/molecule-tenant/tenant.env", "/etc/molecule-tenant/secrets.env"]

    /// Resolves configuration. `configFile` replaces the default files and must exist.
    public static func resolve(
        configFile: String? = nil,
        environment: [String: String] = ProcessEnvironment.current(),
        flags: [String: String] = [:],
        defaults: [String: String] = TenantDefaults.values
    ) throws(ConfigError) -> TenantEnvironment {
        var resolved = TenantEnvironment(values: defaults, origins: defaults.mapValues { _ in .builtIn }, files: [])
        let paths: [(path: String, required: Bool)] =
            if let configFile { [(configFile, true)] } else { defaultFiles.map { ($0, false) } }
        var read: [String] = []
        for (path, required) in paths {
            let text: String
            switch readTextFile(path) {
            case .success(let contents): text = contents
            case .failure(let error) where !required && (error.errno == ENOENT || error.errno == EACCES):
                // Missing defaults are normal; secrets.env is root-only and unreadable to others.
                continue
            case .failure(let error):
                throw ConfigError.unreadableFile(path: path, reason: error.message)
            }
            do {
                for (key, value) in try EnvFile.parse(text, path: path) {
                    resolved.set(key, value, origin: .file(path))
                }
            } catch {
                throw ConfigError.malformedFile(error)
            }
            read.append(path)
        }
        for (key, value) in environment { resolved.set(key, value, origin: .environment) }
        for (key, value) in flags { resolved.set(key, value, origin: .flag) }
        return TenantEnvironment(values: resolved.values, origins: resolved.origins, files: read)
    }

    init(values: [String: String], origins: [String: Origin], files: [String]) {
        self.values = values
        self.origins = origins
        self.files = files
    }

    mutating func set(_ key: String, _ value: String, origin: Origin) {
        values[key] = value
        origins[key] = origin
    }

    /// The value, or nil when unset or empty (an empty assignment means "unset", as in systemd).
    public subscript(_ key: String) -> String? {
        guard let value = values[key], !value.isEmpty else { return nil }
        return value
    }

    public func origin(of key: String) -> Origin? { origins[key] }

    /// A required value, or one clear error naming the variable and where to set it.
    public func require(_ key: String) throws(ConfigError) -> String {
        guard let value = self[key] else { throw ConfigError.missing(key) }
        return value
    }

    public func int(_ key: String) throws(ConfigError) -> Int? {
        guard let text = self[key] else { return nil }
        guard let value = Int(text) else { throw ConfigError.invalid(key, value: text, expected: "an integer") }
        return value
    }

    public func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let text = self[key] else { return nil }
        switch text.lowercased() {
        case "1", "true", "yes", "on": return true
        case "0", "false", "no", "off": return false
        default: throw ConfigError.invalid(key, value: text, expected: "1 or 0 (also true/false, yes/no, on/off)")
        }
    }

    public func duration(_ key: String) throws(ConfigError) -> Duration? {
        guard let text = self[key] else { return nil }
        guard let value = DurationParser.parse(text) else {
            throw ConfigError.invalid(key, value: text, expected: "a duration such as 500ms, 2s or 1m30s")
        }
        return value
    }

    /// The values of every variable that holds a secret, for the log redactor.
    public var secretValues: [String] {
        var secrets: [String] = []
        for key in TenantDefaults.secretKeys { if let value = self[key] { secrets.append(value) } }
        for key in TenantDefaults.urlKeys {
            if let value = self[key], let password = URLPassword.extract(from: value) { secrets.append(password) }
        }
        return secrets
    }
}

/// A configuration problem, phrased for the person who has to fix it.
public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case missing(String)
    case invalid(String, value: String, expected: String)
    case unreadableFile(path: String, reason: String)
    case malformedFile(EnvFile.ParseError)

    public var description: String {
        switch self {
        case .missing(let key):
            let file = TenantDefaults.secretKeys.contains(key) ? "/etc/molecule-tenant/secrets.env" : "/etc/molecule-tenant/tenant.env"
            return "\(key) is not set: set it in the environment or in \(file) (or the file given with --config)"
        case .invalid(let key, let value, let expected):
            let shown = TenantDefaults.secretKeys.contains(key) ? "<redacted>" : "\"\(value)\""
            return "\(key)=\(shown) is not valid: expected \(expected)"
        case .unreadableFile(let path, let reason):
            return "cannot read config file \(path): \(reason)"
        case .malformedFile(let error):
            return "config file \(error.path) line \(error.line): \(error.reason)"
        }
    }
}

/// Snapshot of the process environment without Foundation.
public enum ProcessEnvironment {
    public static func current() -> [String: String] {
        var result: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let equals = text.firstIndex(of: "=") {
                result[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
            pointer += 1
        }
        return result
    }
}

/// The errno that stopped a file operation.
public struct SystemError: Error, Equatable {
    public let errno: Int32
    public var message: String { String(cString: strerror(errno)) }
}

/// Reads a whole file as UTF-8 text, or the errno that stopped it.
public func readTextFile(_ path: String) -> Result<String, SystemError> {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return .failure(SystemError(errno: errno)) }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            return .failure(SystemError(errno: errno))
        }
        if count == 0 { break }
        bytes.append(contentsOf: chunk[0..<count])
    }
    return .success(String(decoding: bytes, as: UTF8.self))
}
