#if canImport(Glibc)
import Glibc
#endif
import TenantConfig
import Upgrades

/// The host's files, seen under a root prefix. Production uses "/"; tests point it at a
/// directory with a fake /etc/os-release and dpkg status, so plans run without root.
public struct HostFiles: Sendable {
    public let root: String

    public init(root: String = "/") {
        self.root = root.hasSuffix("/") && root != "/" ? String(root.dropLast()) : root
    }

    /// The files of the host an upgrade works on (its layout's root, "" for the real host).
    public init(_ layout: HostLayout) {
        self.init(root: layout.root.isEmpty ? "/" : layout.root)
    }

    /// The upgrade layout of these files' host.
    public var layout: HostLayout { HostLayout(root: root == "/" ? "" : root) }

    /// The real path of an absolute host path.
    public func path(_ hostPath: String) -> String {
        root == "/" ? hostPath : root + hostPath
    }

    public func read(_ hostPath: String) -> String? {
        if case .success(let text) = readTextFile(path(hostPath)) { return text }
        return nil
    }

    public func exists(_ hostPath: String) -> Bool {
        var info = stat()
        return lstat(path(hostPath), &info) == 0
    }

    public func isDirectory(_ hostPath: String) -> Bool {
        var info = stat()
        return stat(path(hostPath), &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Mode bits, owner and group of a file, or nil when it does not exist.
    public func attributes(_ hostPath: String) -> (mode: UInt32, uid: UInt32, gid: UInt32)? {
        var info = stat()
        guard stat(path(hostPath), &info) == 0 else { return nil }
        return (UInt32(info.st_mode & 0o7777), info.st_uid, info.st_gid)
    }

    /// Writes the file atomically (temporary file, fsync, rename), so a run killed midway
    /// leaves the old file or the new one, never half of one. Mode and owner are set
    /// before the rename, so a secret is never readable by others even for an instant.
    public func write(_ hostPath: String, _ text: String, mode: mode_t, uid: uid_t = 0, gid: gid_t = 0) throws(InstallError) {
        try write(hostPath, bytes: Array(text.utf8), mode: mode, uid: uid, gid: gid)
    }

    public func write(_ hostPath: String, bytes: [UInt8], mode: mode_t, uid: uid_t = 0, gid: gid_t = 0) throws(InstallError) {
        let target = path(hostPath)
        let temporary = target + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
        guard fd >= 0 else { throw .system("cannot write \(hostPath)", errno) }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if written < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                unlink(temporary)
                throw .system("cannot write \(hostPath)", code)
            }
            offset += written
        }
        fchmod(fd, mode)
        if getuid() == 0 { _ = fchown(fd, uid, gid) }
        fsync(fd)
        close(fd)
        guard rename(temporary, target) == 0 else {
            let code = errno
            unlink(temporary)
            throw .system("cannot replace \(hostPath)", code)
        }
    }

    /// Copies a file from the real filesystem (e.g. this binary) to a host path, atomically.
    public func copy(from source: String, to hostPath: String, mode: mode_t) throws(InstallError) {
        guard case .success(let bytes) = readBytes(source) else { throw .message("cannot read \(source)") }
        try write(hostPath, bytes: bytes, mode: mode)
    }

    public func remove(_ hostPath: String) {
        unlink(path(hostPath))
    }

    public func makeDirectory(_ hostPath: String, mode: mode_t, uid: uid_t = 0, gid: gid_t = 0) throws(InstallError) {
        let target = path(hostPath)
        if mkdir(target, mode) != 0 && errno != EEXIST { throw .system("cannot create \(hostPath)", errno) }
        chmod(target, mode)
        if getuid() == 0 { _ = chown(target, uid, gid) }
    }

    public func readBytes(_ realPath: String) -> Result<[UInt8], FileError> {
        let fd = open(realPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return .failure(FileError(errno: errno)) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 { if errno == EINTR { continue }; return .failure(FileError(errno: errno)) }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[0..<count])
        }
        return .success(bytes)
    }
}

extension HostFiles {
    /// Where a symlink points, or nil when the path is not a symlink.
    public func symlinkTarget(_ hostPath: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let length = readlink(path(hostPath), &buffer, buffer.count - 1)
        guard length > 0 else { return nil }
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// The errno that stopped reading a file.
public struct FileError: Error, Equatable {
    public let errno: Int32
}
