#if canImport(Glibc)
import Glibc
#endif

/// Who the embedded servers run as. PostgreSQL refuses to run as root, so as root both
/// servers run as the `postgres` account the Debian packages create, switched to with
/// util-linux's setpriv, which execs in place: the server stays our direct child and
/// gets our signals, with no su-style parent in between.
struct ServiceAccount: Sendable {
    let name: String
    let uid: uid_t
    let gid: gid_t
    /// setpriv's path when we switch accounts; nil when we run as ourselves.
    let setpriv: String?

    static func resolve(name: String = "postgres") throws(EmbeddedError) -> ServiceAccount {
        guard getuid() == 0 else { return ServiceAccount(name: "", uid: getuid(), gid: getgid(), setpriv: nil) }
        guard let entry = getpwnam(name) else {
            throw .accountMissing("running as root needs the unprivileged `\(name)` account that the postgresql package creates: apt-get install postgresql")
        }
        guard let setpriv = Executable.find("setpriv") else {
            throw .accountMissing("running as root needs setpriv (util-linux) to start PostgreSQL as `\(name)`: apt-get install util-linux")
        }
        return ServiceAccount(name: name, uid: entry.pointee.pw_uid, gid: entry.pointee.pw_gid, setpriv: setpriv)
    }

    var switches: Bool { setpriv != nil }

    /// `arguments`, run as this account.
    func command(_ arguments: [String]) -> [String] {
        guard let setpriv else { return arguments }
        return [setpriv, "--reuid=\(uid)", "--regid=\(gid)", "--init-groups", "--"] + arguments
    }

    /// Hands `path` to the account (no-op when we run as ourselves).
    func own(_ path: String) throws(EmbeddedError) {
        guard switches else { return }
        guard chown(path, uid, gid) == 0 else { throw .file(path: path, reason: "chown to \(name): \(Files.errorText())") }
    }
}

/// Finds programs on PATH and in the usual system directories.
enum Executable {
    static func find(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? ""
        let directories = path.split(separator: ":").map(String.init) + ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        return directories.lazy.map { "\($0)/\(name)" }.first { access($0, X_OK) == 0 }
    }
}
