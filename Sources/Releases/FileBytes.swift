#if canImport(Glibc)
import Glibc
#endif

/// Whole-file reads and atomic writes (temporary file, fsync, rename), so a crash never
/// leaves a half-written binary, signature or record where a reader would trust it.
public enum FileBytes {
    public static func read(_ path: String, limit: Int = 1 << 30) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReleaseError.unreadable(path: path, reason: errnoText()) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw ReleaseError.unreadable(path: path, reason: errnoText()) }
        guard Int(info.st_size) <= limit else { throw ReleaseError.unreadable(path: path, reason: "larger than \(limit) bytes") }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + done, $0.count - done) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { throw ReleaseError.unreadable(path: path, reason: count == 0 ? "file shrank while reading" : errnoText()) }
            done += count
        }
        return bytes
    }

    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o644) throws {
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw ReleaseError.unwritable(path: path, reason: errnoText()) }
        var done = 0
        while done < bytes.count {
            let count = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, $0.count - done) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else {
                let reason = errnoText()
                close(fd)
                unlink(temporary)
                throw ReleaseError.unwritable(path: path, reason: reason)
            }
            done += count
        }
        // open() applies the umask; the mode asked for is the mode meant.
        fchmod(fd, mode)
        guard fsync(fd) == 0, close(fd) == 0, rename(temporary, path) == 0 else {
            let reason = errnoText()
            unlink(temporary)
            throw ReleaseError.unwritable(path: path, reason: reason)
        }
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// The size of a file, nil when it does not exist (yet).
    public static func size(_ path: String) -> Int? {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : nil
    }

    @discardableResult
    public static func remove(_ path: String) -> Bool { unlink(path) == 0 }

    /// `mkdir -p`: creates `path` and any missing parents.
    public static func makeDirectories(_ path: String, mode: mode_t = 0o755) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw ReleaseError.unwritable(path: current, reason: errnoText())
            }
        }
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }
