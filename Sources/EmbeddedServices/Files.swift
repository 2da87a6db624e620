import TenantConfig

#if canImport(Glibc)
import Glibc
#endif

/// The few file operations the embedded services need, on plain POSIX calls.
enum Files {
    static func errorText(_ code: Int32 = errno) -> String { String(cString: strerror(code)) }

    static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates `path` and its missing parents; sets `mode` on `path` itself.
    static func makeDirectory(_ path: String, mode: mode_t) throws(EmbeddedError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST {
                throw .file(path: prefix, reason: "cannot create directory: \(errorText())")
            }
        }
        guard chmod(path, mode) == 0 else { throw .file(path: path, reason: "chmod: \(errorText())") }
    }

    /// Writes `text` to a temporary file with `mode` and renames it into place, so a
    /// reader never sees half a file and the content never exists with looser permissions.
    static func write(_ text: String, to path: String, mode: mode_t, owner: ServiceAccount? = nil) throws(EmbeddedError) {
        let temporary = path + ".tmp"
        unlink(temporary)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .file(path: temporary, reason: errorText()) }
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else {
                let reason = errorText()
                close(fd)
                throw .file(path: temporary, reason: reason)
            }
            offset += written
        }
        fchmod(fd, mode)
        close(fd)
        try owner?.own(temporary)
        guard rename(temporary, path) == 0 else { throw .file(path: path, reason: errorText()) }
    }

    /// The file's text, or nil when it does not exist or cannot be read.
    static func read(_ path: String) -> String? {
        if case .success(let text) = readTextFile(path) { return text }
        return nil
    }

    /// The last non-empty line of a log, for one-line error messages.
    static func lastLine(of path: String) -> String {
        guard let text = read(path) else { return "no log written" }
        return text.split(separator: "\n").last.map(String.init) ?? "empty log"
    }

    /// `path` made absolute against the working directory, without `.` components.
    static func absolute(_ path: String) -> String {
        var full = path
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
            let cwd = getcwd(&buffer, buffer.count).map { String(cString: $0) } ?? "/"
            full = cwd + "/" + path
        }
        var parts: [Substring] = []
        for component in full.split(separator: "/") {
            switch component {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(component)
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}
