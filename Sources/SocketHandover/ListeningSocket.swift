#if canImport(Glibc)
import Glibc
#endif

/// The TCP socket a server accepts on: inherited (from the process handing over, or from
/// systemd socket activation) or made here. Either way it is a raw descriptor this process
/// owns, so it can be handed to a successor later.
public struct ListeningSocket: Sendable {
    public let descriptor: Int32
    /// How it was obtained, for the log: "inherited", "systemd" or "bound".
    public let origin: String

    public enum Failure: Error, CustomStringConvertible {
        case notAListeningSocket(Int32, variable: String)
        case cannotBind(address: String, reason: String)

        public var description: String {
            switch self {
            case .notAListeningSocket(let fd, let variable):
                "\(variable) names descriptor \(fd), which is not a listening TCP socket"
            case .cannotBind(let address, let reason):
                "cannot listen on \(address): \(reason)"
            }
        }
    }

    /// An inherited socket when the environment names one, else a new one on host:port.
    public static func acquire(host: String, port: Int, backlog: Int32) throws -> ListeningSocket {
        if let text = HandoverEnvironment.take(HandoverEnvironment.listenFD) {
            guard let fd = Int32(text), isListening(fd) else {
                throw Failure.notAListeningSocket(Int32(text) ?? -1, variable: HandoverEnvironment.listenFD)
            }
            return adopt(fd, origin: "inherited")
        }
        // systemd socket activation: the first passed descriptor is always 3, and the
        // variables count only when they were meant for this very process.
        let listenPID = HandoverEnvironment.read("LISTEN_PID").flatMap { pid_t($0) }
        let listenFDs = HandoverEnvironment.read("LISTEN_FDS").flatMap { Int($0) } ?? 0
        if listenPID == getpid() && listenFDs >= 1 {
            for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] { unsetenv(name) }
            guard isListening(3) else { throw Failure.notAListeningSocket(3, variable: "LISTEN_FDS") }
            return adopt(3, origin: "systemd")
        }
        return try bind(host: host, port: port, backlog: backlog)
    }

    /// The address the socket is bound to, e.g. "127.0.0.1:9100".
    public var localAddress: String {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) == 0 }
        }
        guard ok else { return "unknown" }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        var service = [CChar](repeating: 0, count: Int(NI_MAXSERV))
        let named = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), &service, socklen_t(service.count), NI_NUMERICHOST | NI_NUMERICSERV)
            }
        }
        guard named == 0 else { return "unknown" }
        let hostText = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let serviceText = String(decoding: service.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return hostText.contains(":") ? "[\(hostText)]:\(serviceText)" : "\(hostText):\(serviceText)"
    }

    /// Inherited descriptors arrive without close-on-exec; set it so only a successor that
    /// is given the socket on purpose ever holds it.
    private static func adopt(_ fd: Int32, origin: String) -> ListeningSocket {
        _ = fcntl(fd, F_SETFD, fcntl(fd, F_GETFD) | FD_CLOEXEC)
        return ListeningSocket(descriptor: fd, origin: origin)
    }

    private static func isListening(_ fd: Int32) -> Bool {
        var accepting: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        return getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &length) == 0 && accepting == 1
    }

    private static func bind(host: String, port: Int, backlog: Int32) throws -> ListeningSocket {
        let address = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var results: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &results)
        guard resolved == 0, let first = results else {
            throw Failure.cannotBind(address: address, reason: String(cString: gai_strerror(resolved)))
        }
        defer { freeaddrinfo(results) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure.cannotBind(address: address, reason: String(cString: strerror(errno))) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard Glibc.bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0, listen(fd, backlog) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure.cannotBind(address: address, reason: reason)
        }
        return ListeningSocket(descriptor: fd, origin: "bound")
    }
}
