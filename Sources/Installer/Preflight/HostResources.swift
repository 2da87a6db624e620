#if canImport(Glibc)
import Glibc
#endif

/// Memory and disk as the preflight measures them.
public enum HostResources {
    /// MemTotal from /proc/meminfo, in MiB; nil when unknown.
    public static func memoryMiB(_ files: HostFiles) -> Int? {
        guard let text = files.read("/proc/meminfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kib = Int(fields[1]) { return kib / 1024 }
        }
        return nil
    }

    /// Free space for root at the first existing directory of `hostPath` and its parents, in MiB.
    public static func freeDiskMiB(_ files: HostFiles, at hostPath: String = "/var/lib") -> Int? {
        var candidate = hostPath
        while !files.isDirectory(candidate), candidate != "/" {
            candidate = String(candidate[..<(candidate.lastIndex(of: "/") ?? candidate.startIndex)])
            if candidate.isEmpty { candidate = "/" }
        }
        var info = statvfs()
        guard statvfs(files.path(candidate), &info) == 0 else { return nil }
        return Int(UInt64(info.f_bavail) * UInt64(info.f_frsize) / (1024 * 1024))
    }

    /// `uname -m`, mapped to Debian's architecture names.
    public static func architecture() -> String {
        var names = utsname()
        uname(&names)
        let machine = withUnsafeBytes(of: names.machine) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        switch machine {
        case "x86_64": return "amd64"
        case "aarch64", "arm64": return "arm64"
        default: return machine
        }
    }
}

/// dpkg's frontend lock, which apt and unattended-upgrades hold while they work (fresh
/// cloud VMs run them at first boot).
public enum DpkgLock {
    static let path = "/var/lib/dpkg/lock-frontend"

    /// Whether another process holds the lock now (apt takes it with fcntl).
    public static func isHeld(_ files: HostFiles) -> Bool {
        let fd = open(files.path(path), O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        guard fcntl(fd, F_GETLK, &lock) == 0 else { return false }
        return lock.l_type != Int16(F_UNLCK)
    }

    /// Waits until the lock is free, up to `seconds`; false when it never was.
    public static func waitUntilFree(_ files: HostFiles, seconds: Double, log: InstallLog) async -> Bool {
        let deadline = MonotonicClock.seconds() + seconds
        var said = false
        while isHeld(files) {
            if !said { log.line("waiting for the dpkg lock (another apt or dpkg is running)"); said = true }
            if MonotonicClock.seconds() > deadline { return false }
            try? await Task.sleep(for: .seconds(2))
        }
        return true
    }
}
