#if canImport(Glibc)
import Glibc
#endif

/// A blocking HTTP/1.1 keep-alive client for load generation: one socket per worker
/// thread, no allocation beyond the reply buffer, so the client is not the bottleneck.
final class HTTPLoadClient {
    private var descriptor: Int32 = -1
    private let host: String
    private let port: UInt16
    private var buffer = [UInt8](repeating: 0, count: 1 << 20)

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    init(host: String, port: UInt16) throws {
        self.host = host
        self.port = port
        try connectSocket()
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    private func connectSocket() throws {
        if descriptor >= 0 { close(descriptor) }
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var noDelay: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &noDelay, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { throw Failure(description: "bench plugin needs an IPv4 address, got \(host)") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { throw Failure(description: "cannot connect to \(host):\(port): \(String(cString: strerror(errno)))") }
    }

    /// Sends one request and returns the status code; the body is read and dropped.
    /// `headers` are extra header lines, each ending in CRLF (e.g. an Authorization).
    func send(_ method: String, _ path: String, body: [UInt8], headers: String = "") throws -> Int {
        try exchange(method, path, body: body, headers: headers, keepBody: false).status
    }

    /// Sends one request and returns the status and, when `keepBody`, the body.
    func exchange(_ method: String, _ path: String, body: [UInt8], headers: String = "", keepBody: Bool = true) throws -> (status: Int, body: [UInt8]) {
        var request = Array("\(method) \(path) HTTP/1.1\r\nHost: \(host)\r\n\(headers)Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8)
        request += body
        try writeAll(request)
        return try readResponse(keepBody: keepBody)
    }

    private func writeAll(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "send failed: \(String(cString: strerror(errno)))")
            }
            offset += written
        }
    }

    private func readResponse(keepBody: Bool) throws -> (status: Int, body: [UInt8]) {
        var filled = 0
        var headerEnd = -1
        while headerEnd < 0 {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress! + filled, $0.count - filled, 0) }
            if count <= 0 { throw Failure(description: "connection closed by the server") }
            filled += count
            headerEnd = Self.find(buffer, filled)
        }
        let (status, length) = Self.statusAndLength(buffer, headerEnd)
        var kept: [UInt8] = keepBody ? Array(buffer[(headerEnd + 4)..<filled]) : []
        var remaining = length - (filled - headerEnd - 4)
        while remaining > 0 {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress!, min($0.count, remaining), 0) }
            if count <= 0 { throw Failure(description: "connection closed mid-body") }
            if keepBody { kept += buffer[0..<count] }
            remaining -= count
        }
        return (status, kept)
    }

    /// The status code and Content-Length of the head in `buffer[0..<end]`, read from the
    /// bytes: the server's answers carry a dozen headers, and splitting and lowercasing
    /// them as Strings cost the client more CPU per request than some of the work measured.
    private static func statusAndLength(_ buffer: [UInt8], _ end: Int) -> (status: Int, length: Int) {
        var status = 0
        var index = 0
        while index < end, buffer[index] != UInt8(ascii: " ") { index += 1 }
        index += 1
        while index < end, let digit = Self.digit(buffer[index]) {
            status = status * 10 + digit
            index += 1
        }
        let name = Array("content-length:".utf8)
        var length = 0
        while index < end {
            // At the start of the next line.
            while index < end, buffer[index] != 10 { index += 1 }
            index += 1
            guard index + name.count <= end else { break }
            var matches = true
            for offset in 0..<name.count where buffer[index + offset] | 0x20 != name[offset] {
                matches = false
                break
            }
            guard matches else { continue }
            var value = index + name.count
            while value < end, buffer[value] == UInt8(ascii: " ") { value += 1 }
            while value < end, let digit = Self.digit(buffer[value]) {
                length = length * 10 + digit
                value += 1
            }
        }
        return (status, length)
    }

    private static func digit(_ byte: UInt8) -> Int? {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") ? Int(byte - UInt8(ascii: "0")) : nil
    }

    private static func find(_ buffer: [UInt8], _ filled: Int) -> Int {
        guard filled >= 4 else { return -1 }
        for index in 0...(filled - 4)
        where buffer[index] == 13 && buffer[index + 1] == 10 && buffer[index + 2] == 13 && buffer[index + 3] == 10 {
            return index
        }
        return -1
    }
}
