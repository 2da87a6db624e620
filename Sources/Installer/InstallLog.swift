#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import TenantLogging

/// The redacted log of one installer run under /var/log/molecule-tenant/. Every line
/// passes the redactor with every secret this run knows (generated, read or received),
/// so the log can be attached to a bug report as it is.
public final class InstallLog: Sendable {
    public let path: String?
    private let state: Mutex<State>

    struct State {
        var fd: Int32
        var secrets: [String]
    }

    /// Opens `directory/<command>-<UTC time>.log` (mode 0600); a run that cannot write
    /// there (a plan as a normal user) logs nowhere.
    public init(files: HostFiles, command: String, directory: String = "/var/log/molecule-tenant") {
        var fd: Int32 = -1
        var path: String?
        // Created if missing; an existing directory keeps its owner (the user step sets it).
        if files.isDirectory(directory) || mkdir(files.path(directory), 0o750) == 0 {
            let candidate = "\(directory)/\(command)-\(Self.stamp()).log"
            fd = open(files.path(candidate), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
            if fd >= 0 { path = candidate }
        }
        self.path = path
        self.state = Mutex(State(fd: fd, secrets: []))
    }

    /// A log that writes nowhere (read-only commands and probes).
    public init(discarding: Void) {
        path = nil
        state = Mutex(State(fd: -1, secrets: []))
    }

    deinit {
        state.withLock { if $0.fd >= 0 { close($0.fd) } }
    }

    /// A value to remove from every later line.
    public func addSecret(_ value: String) {
        state.withLock { $0.secrets.append(value) }
    }

    public func redact(_ text: String) -> String {
        Redactor(secrets: state.withLock { $0.secrets }).redact(text)
    }

    public func line(_ text: String) {
        let redacted = redact(text)
        state.withLock { state in
            guard state.fd >= 0 else { return }
            var bytes = Array("\(Self.clock()) \(redacted)\n".utf8)
            _ = bytes.withUnsafeMutableBytes { write(state.fd, $0.baseAddress, $0.count) }
        }
    }

    static func stamp() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        return String(Int(parts.tm_year) + 1900) + pad(parts.tm_mon + 1) + pad(parts.tm_mday) + "T"
            + pad(parts.tm_hour) + pad(parts.tm_min) + pad(parts.tm_sec) + "Z"
    }

    static func clock() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        return "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec))"
    }

    private static func pad(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
}

/// The files a run replaced, with what they held before (nil: the file did not exist).
public final class FileJournal: Sendable {
    private let entries = Mutex<[(path: String, previous: [UInt8]?, mode: UInt32, uid: UInt32, gid: UInt32)]>([])

    func remember(_ path: String, files: HostFiles) {
        entries.withLock { entries in
            guard !entries.contains(where: { $0.path == path }) else { return }
            var previous: [UInt8]?
            if case .success(let bytes) = files.readBytes(files.path(path)) { previous = bytes }
            let attributes = files.attributes(path)
            entries.append((path, previous, attributes?.mode ?? 0o644, attributes?.uid ?? 0, attributes?.gid ?? 0))
        }
    }

    public var paths: [String] { entries.withLock { $0.map(\.path) } }

    /// Puts every remembered file back as it was, newest change first.
    public func restore(_ files: HostFiles) {
        for entry in entries.withLock({ $0 }).reversed() {
            if let previous = entry.previous {
                try? files.write(entry.path, bytes: previous, mode: entry.mode, uid: entry.uid, gid: entry.gid)
            } else {
                files.remove(entry.path)
            }
        }
    }
}
