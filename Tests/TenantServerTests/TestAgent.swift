import Foundation
import TestSupport

/// A push-mode agent: a tiny HTTP server on 127.0.0.1 that answers A2A `message/send`
/// with `echo: <text>`. While `hold()` is on, answers wait until `release()`, which
/// makes the agent busy on demand.
final class TestAgent: @unchecked Sendable {
    struct Received: Sendable {
        let authorization: String?
        let caller: String?
        let text: String
    }

    let port: Int
    private let listener: Int32
    private let lock = NSLock()
    private var received: [Received] = []
    private var held = false
    private var trickling = false
    private let gate = NSCondition()

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard bound == 0, listen(listener, 64) == 0 else { throw TestSupportError("test agent cannot listen") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        guard named == 0 else { throw TestSupportError("test agent has no port") }
        port = Int(UInt16(bigEndian: address.sin_port))
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    var url: String { "http://localhost:\(port)/" }

    var requests: [Received] { lock.withLock { received } }

    func hold() { gate.withLock { held = true } }

    /// From now on, answers come one byte every 200 ms (never silent for long, never done):
    /// only the whole-exchange timeout ends them.
    func trickle() { lock.withLock { trickling = true } }

    func release() {
        gate.withLock {
            held = false
            gate.broadcast()
        }
    }

    /// Waits (generously) until at least `count` requests arrived.
    func waitForRequests(_ count: Int, timeout: Duration = .seconds(60)) async throws -> [Received] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let now = requests
            if now.count >= count { return now }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestSupportError("the agent got \(requests.count) of \(count) requests")
    }

    private func acceptLoop() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 { return }
            Thread { [self] in serve(connection) }.start()
        }
    }

    private func serve(_ connection: Int32) {
        defer { close(connection) }
        var data = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        var headEnd: Range<Data.Index>?
        while headEnd == nil {
            let count = recv(connection, &chunk, chunk.count, 0)
            if count <= 0 { return }
            data.append(contentsOf: chunk[0..<count])
            headEnd = data.range(of: Data("\r\n\r\n".utf8))
        }
        let head = String(decoding: data[..<headEnd!.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while data.count - headEnd!.upperBound < length {
            let count = recv(connection, &chunk, chunk.count, 0)
            if count <= 0 { return }
            data.append(contentsOf: chunk[0..<count])
        }
        let body = data[headEnd!.upperBound..<(headEnd!.upperBound + length)]
        let object = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any]
        let message = (object?["params"] as? [String: Any])?["message"] as? [String: Any]
        let text = ((message?["parts"] as? [[String: Any]])?.first?["text"] as? String) ?? ""
        lock.withLock { received.append(Received(authorization: headers["authorization"], caller: headers["x-workspace-id"], text: text)) }
        gate.withLock { while held { gate.wait() } }
        if lock.withLock({ trickling }) {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n{"
            _ = head.withCString { send(connection, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
            for _ in 0..<600 {
                Thread.sleep(forTimeInterval: 0.2)
                if " ".withCString({ send(connection, $0, 1, Int32(MSG_NOSIGNAL)) }) < 0 { break }
            }
            return
        }
        let id = object?["id"] as? String ?? "1"
        let reply = #"{"jsonrpc":"2.0","id":"\#(id)","result":{"kind":"message","role":"agent","parts":[{"kind":"text","text":"echo: \#(text)"}]}}"#
        let response = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(reply.utf8.count)\r\nConnection: close\r\n\r\n" + reply
        _ = response.withCString { send(connection, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
    }
}

/// The JSON-RPC `message/send` body the runtime's `send_a2a_message` posts.
func a2aBody(_ text: String) -> String {
    #"{"jsonrpc":"2.0","id":"\#(UUID().uuidString)","method":"message/send","params":{"message":{"role":"user","messageId":"\#(UUID().uuidString)","parts":[{"kind":"text","text":"\#(text)"}]}}}"#
}
