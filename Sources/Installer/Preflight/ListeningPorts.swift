#if canImport(Glibc)
import Glibc
#endif

/// Who listens on a TCP port, from /proc/net/tcp{,6} and the sockets in /proc/PID/fd.
public struct ListeningPorts: Sendable {
    public struct Holder: Sendable, Equatable {
        public let pid: Int32?
        /// The process name (`comm`), or nil when the socket's owner is not visible here.
        public let command: String?

        public var description: String {
            guard let pid, let command else { return "a process this system cannot see (another container or namespace)" }
            return "\(command) (pid \(pid))"
        }
    }

    let files: HostFiles
    /// Socket inode for every listening port.
    let inodes: [Int: [String]]

    public init(files: HostFiles) {
        self.files = files
        var inodes: [Int: [String]] = [:]
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            for line in (files.read(table) ?? "").split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                // sl local rem st tx:rx tr:when retrnsmt uid timeout inode
                guard fields.count > 9, fields[3] == "0A", let colon = fields[1].lastIndex(of: ":"),
                      let port = Int(fields[1][fields[1].index(after: colon)...], radix: 16) else { continue }
                inodes[port, default: []].append(String(fields[9]))
            }
        }
        self.inodes = inodes
    }

    public func isListening(_ port: Int) -> Bool { inodes[port] != nil }

    /// The process holding `port`, or nil when nothing listens on it.
    public func holder(of port: Int) -> Holder? {
        guard let wanted = inodes[port] else { return nil }
        let targets = Set(wanted.map { "socket:[\($0)]" })
        guard let proc = opendir(files.path("/proc")) else { return Holder(pid: nil, command: nil) }
        defer { closedir(proc) }
        while let entry = readdir(proc) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
            guard let pid = Int32(name) else { continue }
            guard let fds = opendir(files.path("/proc/\(pid)/fd")) else { continue }
            defer { closedir(fds) }
            while let fd = readdir(fds) {
                let fdName = withUnsafeBytes(of: fd.pointee.d_name) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
                guard fdName != ".", fdName != ".." else { continue }
                var buffer = [CChar](repeating: 0, count: 64)
                let length = readlink(files.path("/proc/\(pid)/fd/\(fdName)"), &buffer, buffer.count - 1)
                guard length > 0 else { continue }
                let link = String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if targets.contains(link) {
                    let command = files.read("/proc/\(pid)/comm").map { $0.split(separator: "\n").first.map(String.init) ?? "" }
                    return Holder(pid: pid, command: command)
                }
            }
        }
        return Holder(pid: nil, command: nil)
    }
}
