import FoundationEssentials

#if canImport(Glibc)
import Glibc
#endif

/// Asks a service on loopback which version answers and whether it is healthy.
public struct HealthProbe: Sendable {
    public let host: String
    public let port: Int
    /// `/v1/health` for the plugin, `/health` for the server; both carry `version`.
    public let path: String

    public init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    public struct Reading: Sendable, Equatable {
        public let healthy: Bool
        public let version: String?
    }

    /// nil when nothing answers.
    public func read(timeout: Int = 5) -> Reading? {
        guard let (status, body) = get(timeout: timeout) else { return nil }
        struct Health: Decodable {
            let status: String?
            let version: String?
        }
        let health = try? JSONDecoder().decode(Health.self, from: Data(body))
        return Reading(healthy: status == 200 && health?.status == "ok", version: health?.version)
    }

    private func get(timeout: Int) -> (Int, [UInt8])? {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var results: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &results) == 0, let first = results else { return nil }
        defer { freeaddrinfo(results) }
        let fd = socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var limit = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, socklen_t(MemoryLayout<timeval>.size))
        guard connect(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) == 0 else { return nil }
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n".utf8)
        guard request.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }) == request.count else { return nil }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 8192)
        while received.count < 1 << 20 {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 { break }
            received += buffer[0..<count]
        }
        guard let split = received.indices.dropLast(3).first(where: { received[$0] == 13 && received[$0 + 1] == 10 && received[$0 + 2] == 13 && received[$0 + 3] == 10 }) else {
            return nil
        }
        let head = String(decoding: received[0..<split], as: UTF8.self)
        guard let status = Int(head.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return (status, Array(received[(split + 4)...]))
    }
}
