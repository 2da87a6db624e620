/// Why the embedded PostgreSQL or Redis could not be set up, phrased as one line for the
/// person who has to fix it.
public enum EmbeddedError: Error, CustomStringConvertible, Sendable {
    /// No PostgreSQL server binaries where we looked.
    case postgresNotInstalled(searched: String)
    /// The cluster was made by a PostgreSQL major version that is not installed.
    case postgresVersionNotInstalled(version: String, directory: String)
    /// No redis-server where we looked.
    case redisNotInstalled(searched: String)
    /// Running as root needs an unprivileged account and setpriv to switch to it.
    case accountMissing(String)
    /// Another `run --embedded` holds the directory.
    case directoryInUse(String)
    /// The unix socket path would exceed the kernel's limit.
    case pathTooLong(String)
    /// A file operation failed.
    case file(path: String, reason: String)
    /// A child process could not be started.
    case spawnFailed(String, reason: String)
    /// initdb, PostgreSQL or Redis failed; `detail` is the last line of its log.
    case serverFailed(name: String, detail: String, log: String)
    /// A server we supervise exited without being asked to.
    case exitedUnexpectedly(name: String, status: Int32, log: String)

    static let installHint = "run `installer/packages.sh run` or `apt-get install postgresql redis-server`"

    public var description: String {
        switch self {
        case .postgresNotInstalled(let searched):
            return "PostgreSQL server binaries (postgres, initdb) not found in \(searched): \(Self.installHint)"
        case .postgresVersionNotInstalled(let version, let directory):
            return "\(directory) was created by PostgreSQL \(version), which is not installed: apt-get install postgresql-\(version)"
        case .redisNotInstalled(let searched):
            return "redis-server not found (\(searched)): \(Self.installHint)"
        case .accountMissing(let reason):
            return reason
        case .directoryInUse(let directory):
            return "\(directory) is in use by another `molecule-tenant run --embedded`; stop it first"
        case .pathTooLong(let path):
            return "the PostgreSQL socket path \(path) is longer than the 107 bytes a unix socket allows: use a shorter --embedded DIR"
        case .file(let path, let reason):
            return "\(path): \(reason)"
        case .spawnFailed(let program, let reason):
            return "cannot start \(program): \(reason)"
        case .serverFailed(let name, let detail, let log):
            return "\(name) failed: \(detail) (log: \(log))"
        case .exitedUnexpectedly(let name, let status, let log):
            return "\(name) exited unexpectedly with status \(status) (log: \(log))"
        }
    }
}
