#if canImport(Glibc)
import Glibc
#endif

/// The environment variables of a socket handover (docs/upgrading.md).
///
/// They are process plumbing, not configuration: set by systemd or by the process handing
/// over, read once at start and removed, so no grandchild inherits them by accident.
public enum HandoverEnvironment {
    /// The listening socket's descriptor, passed by the process handing over.
    public static let listenFD = "MOLECULE_LISTEN_FD"
    /// A pipe to write "ready" to once this process serves on the inherited socket.
    public static let readyFD = "MOLECULE_HANDOVER_READY_FD"
    /// Where to write our pid once serving (for supervisors other than systemd, and tests).
    public static let pidFile = "MOLECULE_PID_FILE"
    /// How long to wait for a successor to become ready before keeping the old process (default 90 s).
    public static let timeout = "MOLECULE_HANDOVER_TIMEOUT_SECONDS"
    /// systemd's `RuntimeDirectory=`: where the unit's `ExecReload=` leaves `handover.env`,
    /// its own environment (NUL-separated, read from the env files at reload time).
    public static let runtimeDirectory = "RUNTIME_DIRECTORY"
    public static let refreshedFile = "handover.env"

    static func take(_ name: String) -> String? {
        guard let value = getenv(name).map({ String(cString: $0) }) else { return nil }
        unsetenv(name)
        return value
    }

    static func read(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
}
