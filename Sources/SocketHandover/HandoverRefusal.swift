import Logging

#if canImport(Glibc)
import Glibc
#endif

/// Makes a refused handover visible to `upgrade`, which would otherwise only see the old
/// process serving on and wait out its whole health gate: systemd's status text
/// (`systemctl show --property=StatusText`) and, beside a pid file, `<pid file>.handover`.
/// Each record names its attempt, so a reader can tell a new refusal from an old one.
public enum HandoverRefusal {
    /// Every record starts with this.
    public static let prefix = "handover refused"

    /// Where pid-file supervisors find the last refusal of the process writing `pidFile`.
    public static func path(forPIDFile pidFile: String) -> String { pidFile + ".handover" }

    static func record(_ reason: String, logger: Logger) {
        let text = "\(prefix) (\(reason)); serving on"
        SystemdNotify.send("STATUS=\(text)")
        guard let pidFile = HandoverEnvironment.read(HandoverEnvironment.pidFile), !pidFile.isEmpty else { return }
        let path = path(forPIDFile: pidFile)
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            logger.warning("cannot record the refused handover", metadata: ["path": "\(path)"])
            return
        }
        let bytes = Array((text + "\n").utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        rename(temporary, path)
    }
}
