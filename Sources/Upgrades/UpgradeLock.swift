import Releases

#if canImport(Glibc)
import Glibc
#endif

/// One upgrade at a time per host (the timer and an operator may start one together).
final class UpgradeLock {
    private let fd: Int32

    init(layout: HostLayout) throws {
        try FileBytes.makeDirectories(layout.state)
        let path = layout.state + "/upgrade.lock"
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ReleaseError.unwritable(path: path, reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw UpgradeFailure("another upgrade is running on this host (\(path) is locked)")
        }
    }

    deinit { close(fd) }
}
