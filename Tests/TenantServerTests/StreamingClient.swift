import Foundation
import TestSupport

/// A long-lived HTTP/1.1 GET over a loopback socket that the test reads line by line:
/// Server-Sent Events arrive as they are written. Reads block at most `timeout`.
final class StreamingClient: @unchecked Sendable {
    let descriptor: Int32
    private(set) var status = 0
    private var pending = Data()

    init(port: Int, path: String, headers: [String: String] = [:], timeout: Duration = .seconds(30)) throws {
        descriptor = try TestHTTP.connectLoopback(port: port, receiveTimeout: timeout)
        var head = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nAccept: text/event-stream\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        _ = head.withCString { send(descriptor, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        let statusLine = try line()
        guard let code = statusLine?.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else {
            throw TestSupportError("no status line")
        }
        // Skip the remaining headers.
        while let header = try line(), !header.isEmpty {}
        status = code
    }

    deinit { close(descriptor) }

    /// The next line without its CRLF (chunk-size lines of chunked encoding included), or nil at end of stream.
    func line() throws -> String? {
        while true {
            if let range = pending.range(of: Data("\n".utf8)) {
                var lineData = pending[..<range.lowerBound]
                if lineData.last == UInt8(ascii: "\r") { lineData = lineData.dropLast() }
                pending.removeSubrange(..<range.upperBound)
                return String(decoding: lineData, as: UTF8.self)
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count < 0 && errno == EINTR { continue }
            if count < 0 { throw TestSupportError("stream read timed out") }
            if count == 0 { return nil }
            pending.append(contentsOf: chunk[0..<count])
        }
    }

    /// Reads until a line satisfies `match` and returns it; nil if the stream ends first
    /// (the connection closes, or the last chunk, `0`, of a chunked body arrives).
    func next(_ match: (String) -> Bool) throws -> String? {
        while let line = try line() {
            if line == "0" { return nil }
            if match(line) { return line }
        }
        return nil
    }

    /// The next `data:` event decoded as a JSON object, skipping comments and keep-alives.
    func nextEvent() throws -> [String: Any]? {
        guard let line = try next({ $0.hasPrefix("data: ") }) else { return nil }
        return try JSONSerialization.jsonObject(with: Data(line.dropFirst(6).utf8)) as? [String: Any]
    }
}
