import TenantConfig

#if canImport(Glibc)
import Glibc
#endif

/// Processes we did not start ourselves: servers left running by an earlier `run` that
/// was killed (SIGKILL, a crash), found through their pid files.
enum Processes {
    /// True while `pid` runs (a zombie counts as gone).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        guard let stat = Files.read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(after: close)...].dropFirst().first != "Z"
    }

    /// The program name of `pid` (`/proc/PID/cmdline`'s first word, as the process sets it).
    static func commandLine(_ pid: pid_t) -> String {
        Files.read("/proc/\(pid)/cmdline").map { $0.split(separator: "\0").joined(separator: " ") } ?? ""
    }

    /// The pid on the first line of a pid file (PostgreSQL's postmaster.pid, Redis's pidfile).
    static func pid(inFile path: String) -> pid_t? {
        Files.read(path)?.split(separator: "\n").first.flatMap { pid_t($0.trimmingCharacters()) }
    }

    /// Stops a leftover server whose command line contains `marker`: `signal`, then
    /// `escalation` after `timeout`, then SIGKILL. Returns when it is gone.
    static func stopLeftover(pid: pid_t, marker: String, signal: Int32, escalation: Int32, timeout: Duration) async {
        guard isAlive(pid), commandLine(pid).contains(marker) else { return }
        for (sent, wait) in [(signal, timeout), (escalation, Duration.seconds(10)), (SIGKILL, Duration.seconds(10))] {
            kill(pid, sent)
            let deadline = ContinuousClock.now + wait
            while isAlive(pid) && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
            if !isAlive(pid) { return }
        }
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        String(self.drop(while: { $0 == " " || $0 == "\r" || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\r" || $0 == "\t" }).reversed())
    }
}

/// A loopback TCP port nobody listens on right now (bind to 0, read it back, close).
enum LoopbackPort {
    static func free() throws(EmbeddedError) -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw .file(path: "socket", reason: Files.errorText()) }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        guard bound == 0 else { throw .file(path: "127.0.0.1:0", reason: "bind: \(Files.errorText())") }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
