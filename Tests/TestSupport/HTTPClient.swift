import Foundation

/// A minimal HTTP/1.1 client over a loopback socket, so tests talk to the real server
/// process exactly as any client would (one request per connection, Connection: close).
public enum TestHTTP {
    public struct Response: Sendable {
        public let status: Int
        public let headers: [String: String]
        public let body: Data

        public var text: String { String(decoding: body, as: UTF8.self) }

        public func json<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(type, from: body) }
    }

    /// A blocking TCP socket connected to 127.0.0.1:`port`, whose reads give up after
    /// `receiveTimeout`; for clients that speak the protocol themselves (SSE, WebSocket, raw lines).
    public static func connectLoopback(port: Int, receiveTimeout: Duration) throws -> Int32 {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw TestSupportError("socket() failed") }
        var seconds = timeval(tv_sec: Int(receiveTimeout.components.seconds), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &seconds, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw TestSupportError("connect to 127.0.0.1:\(port) failed: \(reason)")
        }
        return descriptor
    }

    public static func request(
        _ method: String, port: Int, path: String, body: Data? = nil, headers: [String: String] = [:], timeout: Duration = .seconds(10)
    ) throws -> Response {
        let descriptor = try connectLoopback(port: port, receiveTimeout: timeout)
        defer { close(descriptor) }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        var bytes = Data((head + "\r\n").utf8)
        if let body { bytes.append(body) }
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = send(descriptor, buffer.baseAddress! + offset, buffer.count - offset, Int32(MSG_NOSIGNAL))
                // The server may answer (413) and close before reading everything; stop writing then.
                if written <= 0 { if errno == EINTR { continue }; return }
                offset += written
            }
        }
        var received = Data()
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(descriptor, &chunk, chunk.count, 0)
            if count < 0 && errno == EINTR { continue }
            if count < 0 { throw TestSupportError("no answer from 127.0.0.1:\(port) within \(timeout)") }
            if count == 0 { break }
            received.append(contentsOf: chunk[0..<count])
        }
        return try parse(received)
    }

    public static func json<T: Encodable>(_ method: String, port: Int, path: String, _ value: T) throws -> Response {
        try request(method, port: port, path: path, body: try JSONEncoder().encode(value))
    }

    static func parse(_ data: Data) throws -> Response {
        guard let separator = data.range(of: Data("\r\n\r\n".utf8)) else { throw TestSupportError("malformed HTTP response") }
        let head = String(decoding: data[..<separator.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        guard let statusLine = head.first, statusLine.split(separator: " ").count >= 2, let status = Int(statusLine.split(separator: " ")[1]) else {
            throw TestSupportError("malformed status line")
        }
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Data(data[separator.upperBound...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" { body = dechunk(body) }
        return Response(status: status, headers: headers, body: body)
    }

    static func dechunk(_ data: Data) -> Data {
        var out = Data()
        var rest = data[...]
        while let lineEnd = rest.range(of: Data("\r\n".utf8)) {
            let size = Int(String(decoding: rest[..<lineEnd.lowerBound], as: UTF8.self), radix: 16) ?? 0
            if size == 0 { break }
            let start = lineEnd.upperBound
            out.append(rest[start..<(start + size)])
            rest = rest[(start + size + 2)...]
        }
        return out
    }
}
