import Foundation
import MemoryContract
import MemoryPluginClient
import TestSupport
import Testing

/// After the plugin restarts (an upgrade's handover), every idle pooled connection is
/// stale, and the close may reach the client only once a request is on its way. A request
/// that is safe to repeat must still get its answer: an upgrade lab run once saw one search
/// in 710 fail with 503 when the client retried only once.
@Suite("Memory plugin client with stale keep-alive connections")
struct StaleConnectionTests {
    @Test func aSearchGoesThroughEveryStaleConnectionToAFreshOne() async throws {
        let listener = try OneAnswerListener()
        defer { listener.close() }
        let client = try makeClient(port: listener.port, timeout: .seconds(30), maxConnections: 8)
        defer { Task { await client.shutdown() } }
        let request = SearchRequest(namespaces: ["workspace:a"], query: "plan")

        // Four searches at once, answered slowly, leave four idle connections behind.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<4 { group.addTask { _ = try await client.search(request) } }
            try await group.waitForAll()
        }
        // (On a busy machine a late task may have reused one; two stale ones are enough
        // to need more than one retry.)
        let stale = client.poolStatistics.idle
        let dialled = listener.connections
        #expect(stale >= 2, "\(client.poolStatistics)")

        // Each of them is closed as the next request arrives on it; the last try is fresh.
        #expect(try await client.search(request) == [])
        #expect(listener.connections == dialled + 1)
        #expect(client.breaker.state == .closed)
    }
}

/// Answers exactly one request per connection (after 300 ms, so concurrent callers each
/// dial), then closes the connection when the next request arrives, unanswered.
final class OneAnswerListener: @unchecked Sendable {
    let port: Int
    private let descriptor: Int32
    private let lock = NSLock()
    private var accepted: [Int32] = []

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        guard descriptor >= 0 else { throw TestSupportError("socket() failed") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(descriptor, 64) == 0 else { throw TestSupportError("bind/listen failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in
            while true {
                let connection = accept(descriptor, nil, nil)
                // Other tests' child processes send this one SIGCHLD: EINTR is not the end.
                if connection < 0 {
                    if errno == EINTR || errno == ECONNABORTED { continue }
                    return
                }
                lock.withLock {
                    accepted.append(connection)
                    acceptedCount += 1
                }
                Thread { [self] in serve(connection) }.start()
            }
        }.start()
    }

    /// Connections accepted so far.
    var connections: Int { lock.withLock { acceptedCount } }
    private var acceptedCount = 0

    private func serve(_ connection: Int32) {
        defer { closeOnce(connection) }
        guard Self.readRequest(connection) else { return }
        Thread.sleep(forTimeInterval: 0.3)
        let body = #"{"memories":[]}"#
        let response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        response.withCString { text in
            var sent = 0
            let length = strlen(text)
            while sent < length {
                let count = send(connection, text + sent, length - sent, Int32(MSG_NOSIGNAL))
                if count < 0, errno == EINTR { continue }
                if count <= 0 { return }
                sent += count
            }
        }
        // The next request is read, then the connection closed without an answer.
        _ = Self.readRequest(connection)
    }

    /// Only the connection's own thread closes it, once: closed twice, or read after
    /// another thread closed it, its number may by then belong to another test's socket
    /// (NIO then crashes on EBADF).
    private func closeOnce(_ connection: Int32) {
        lock.withLock {
            guard let index = accepted.firstIndex(of: connection) else { return }
            accepted.remove(at: index)
            _ = Glibc.close(connection)
        }
    }

    /// Reads one request (head and Content-Length body); false when the peer closed.
    static func readRequest(_ connection: Int32) -> Bool {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            if let end = data.firstRange(of: Array("\r\n\r\n".utf8)) {
                let head = String(decoding: data[..<end.lowerBound], as: UTF8.self).lowercased()
                let length = head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
                if data.count - end.upperBound >= length { return true }
            }
            let count = recv(connection, &buffer, buffer.count, 0)
            if count < 0, errno == EINTR { continue }
            if count <= 0 { return false }
            data.append(contentsOf: buffer[0..<count])
        }
    }

    func close() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        _ = Glibc.close(descriptor)
        // Wakes each connection's thread, which then closes it. Under the lock, so that no
        // thread closes one (and the number is reused) in between.
        lock.withLock { for connection in accepted { shutdown(connection, Int32(SHUT_RDWR)) } }
    }
}
