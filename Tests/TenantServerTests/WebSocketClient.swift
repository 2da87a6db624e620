import Foundation
import TestSupport

/// A minimal RFC 6455 client over a loopback socket: the upgrade handshake, then text
/// frames read one by one (server frames are unmasked; control frames are skipped).
final class WebSocketClient: @unchecked Sendable {
    let descriptor: Int32
    private(set) var status = 0
    private var pending = Data()

    init(port: Int, path: String, headers: [String: String], timeout: Duration = .seconds(30)) throws {
        descriptor = try TestHTTP.connectLoopback(port: port, receiveTimeout: timeout)
        let key = Data((0..<16).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        var head = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        head += "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        _ = head.withCString { send(descriptor, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        while pending.range(of: Data("\r\n\r\n".utf8)) == nil { try fill() }
        let end = pending.range(of: Data("\r\n\r\n".utf8))!
        let statusLine = String(decoding: pending[..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n").first ?? ""
        status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        pending.removeSubrange(..<end.upperBound)
    }

    deinit { close(descriptor) }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = recv(descriptor, &chunk, chunk.count, 0)
        if count < 0 && errno == EINTR { return }
        if count < 0 { throw TestSupportError("websocket read timed out") }
        if count == 0 { throw TestSupportError("websocket closed") }
        pending.append(contentsOf: chunk[0..<count])
    }

    private func take(_ count: Int) throws -> Data {
        while pending.count < count { try fill() }
        let bytes = pending.prefix(count)
        pending.removeSubrange(..<(pending.startIndex + count))
        return Data(bytes)
    }

    /// The next text message decoded as a JSON object.
    func nextEvent() throws -> [String: Any] {
        while true {
            let header = try take(2)
            let opcode = header[header.startIndex] & 0x0F
            var length = Int(header[header.startIndex + 1] & 0x7F)
            if length == 126 {
                let extended = try take(2)
                length = Int(extended[extended.startIndex]) << 8 | Int(extended[extended.startIndex + 1])
            } else if length == 127 {
                length = try take(8).reduce(0) { $0 << 8 | Int($1) }
            }
            let payload = try take(length)
            if opcode == 0x8 { throw TestSupportError("websocket closed by the server") }
            guard opcode == 0x1 else { continue }
            guard let object = try JSONSerialization.jsonObject(with: payload) as? [String: Any] else { throw TestSupportError("not JSON") }
            return object
        }
    }
}
