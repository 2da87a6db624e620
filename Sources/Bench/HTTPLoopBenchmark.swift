import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// `bench http`: GETs one path as fast as `concurrency` workers can, each request on a new
/// connection (or on keep-alive connections), and counts every request that did not get a 2xx.
/// The upgrade tests run it across a socket handover and require zero failures.
public struct HTTPLoopBenchmark: Sendable {
    public struct Result: Encodable, Sendable {
        public let requests: Int
        public let failures: Int
        public let seconds: Double
        public let requestsPerSecond: Double
        /// The first few failures, for the log.
        public let firstFailures: [String]

        enum CodingKeys: String, CodingKey {
            case requests, failures, seconds
            case requestsPerSecond = "requests_per_second"
            case firstFailures = "first_failures"
        }
    }

    let host: String
    let port: UInt16
    let path: String
    let concurrency: Int
    let duration: Duration
    let keepAlive: Bool

    public init(host: String, port: UInt16, path: String, concurrency: Int, duration: Duration, keepAlive: Bool) {
        self.host = host
        self.port = port
        self.path = path
        self.concurrency = concurrency
        self.duration = duration
        self.keepAlive = keepAlive
    }

    public func run() async throws -> Result {
        let threads = NIOThreadPool(numberOfThreads: concurrency)
        threads.start()
        defer { threads.shutdownGracefully { _ in } }
        let clock = ContinuousClock()
        let started = clock.now
        let deadline = started.advanced(by: duration)
        let request = Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\n\(keepAlive ? "" : "Connection: close\r\n")\r\n".utf8)
        let (host, port, keepAlive) = (host, port, keepAlive)
        let parts = try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    try await threads.runIfActive {
                        var connection: Int32 = -1
                        var requests = 0
                        var failures: [String] = []
                        while clock.now < deadline {
                            requests += 1
                            do {
                                try Self.exchange(request, &connection, host: host, port: port, keepAlive: keepAlive)
                            } catch {
                                failures.append("\(error)")
                            }
                        }
                        if connection >= 0 { close(connection) }
                        return (requests, failures)
                    }
                }
            }
            var all: [(Int, [String])] = []
            for try await part in group { all.append(part) }
            return all
        }
        let seconds = (clock.now - started).milliseconds / 1000
        let requests = parts.reduce(0) { $0 + $1.0 }
        let failures = parts.flatMap(\.1)
        return Result(requests: requests, failures: failures.count, seconds: rounded3(seconds),
                      requestsPerSecond: (Double(requests) / seconds).rounded(), firstFailures: Array(failures.prefix(5)))
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// One request and its whole response. A reused keep-alive connection the server closed
    /// before answering (EOF or reset, no response byte) is retried once on a new one, as HTTP
    /// clients do for an idempotent GET (RFC 9112 section 9.3.1; curl does the same).
    static func exchange(_ request: [UInt8], _ connection: inout Int32, host: String, port: UInt16, keepAlive: Bool) throws {
        let reused = connection >= 0
        if !reused { connection = try connect(host: host, port: port) }
        do {
            let (status, closes) = try roundTrip(request, connection)
            if closes || !keepAlive {
                close(connection)
                connection = -1
            }
            guard (200..<300).contains(status) else { throw Failure(description: "status \(status)") }
        } catch let failure as Failure where reused && failure.description == "closed before any response" {
            close(connection)
            connection = -1
            try exchange(request, &connection, host: host, port: port, keepAlive: keepAlive)
        } catch {
            if connection >= 0 { close(connection) }
            connection = -1
            throw error
        }
    }

    private static func connect(host: String, port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, host, &address.sin_addr)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(description: "connect: \(reason)")
        }
        return fd
    }

    /// Returns the status and whether the server said it will close the connection.
    private static func roundTrip(_ request: [UInt8], _ fd: Int32) throws -> (Int, Bool) {
        var offset = 0
        while offset < request.count {
            let written = request.withUnsafeBytes { send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 && errno == EINTR { continue }
            // A reset here means the server closed the (idle) connection first: nothing was answered.
            if written < 0 && (errno == EPIPE || errno == ECONNRESET) { throw Failure(description: "closed before any response") }
            guard written > 0 else { throw Failure(description: "send: \(String(cString: strerror(errno)))") }
            offset += written
        }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16384)
        var headerEnd: Int?
        var needed = Int.max
        while received.count < needed {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count < 0 && errno == EINTR { continue }
            // EOF or a reset before the first byte: the server closed an idle keep-alive connection
            // as our request crossed it (it resets when our unread request is in its buffer).
            if received.isEmpty && (count == 0 || (count < 0 && errno == ECONNRESET)) { throw Failure(description: "closed before any response") }
            guard count > 0 else { throw Failure(description: count == 0 ? "closed mid-response" : "recv: \(String(cString: strerror(errno)))") }
            received += buffer[0..<count]
            if headerEnd == nil, let end = find(received) {
                headerEnd = end
                let head = String(decoding: received[0..<end], as: UTF8.self).lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingPrefix(while: { $0 == " " })) } ?? 0
                needed = end + 4 + length
            }
        }
        let head = String(decoding: received[0..<(headerEnd ?? 0)], as: UTF8.self)
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        return (status, head.lowercased().contains("\r\nconnection: close"))
    }

    private static func find(_ bytes: [UInt8]) -> Int? {
        guard bytes.count >= 4 else { return nil }
        for index in 0...(bytes.count - 4) where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return index
        }
        return nil
    }
}
