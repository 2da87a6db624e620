#if canImport(Glibc)
import Glibc
#endif

/// One small HTTP/1.1 exchange over a blocking socket: health probes on loopback and the
/// platform calls (DESIGN section 8: 10 s timeout, reply capped). No keep-alive, no
/// redirects: a redirect is an error the caller reports.
public struct HTTPCall: Sendable {
    public struct Response: Sendable {
        public let status: Int
        public let body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public struct Target: Sendable, Equatable {
        public let secure: Bool
        public let host: String
        public let port: Int
        public let path: String

        public init(secure: Bool, host: String, port: Int, path: String) {
            self.secure = secure
            self.host = host
            self.port = port
            self.path = path
        }

        /// Parses `http(s)://host[:port][/path]`; nil for anything else.
        public static func parse(_ url: String) -> Target? {
            let secure: Bool
            var rest: Substring
            if url.hasPrefix("https://") { secure = true; rest = url.dropFirst(8) } else if url.hasPrefix("http://") { secure = false; rest = url.dropFirst(7) } else { return nil }
            let slash = rest.firstIndex(of: "/") ?? rest.endIndex
            var authority = rest[..<slash]
            let path = rest[slash...].isEmpty ? "/" : String(rest[slash...])
            guard !authority.contains("@"), !authority.isEmpty else { return nil }
            var port = secure ? 443 : 80
            if authority.hasPrefix("[") {
                guard let close = authority.firstIndex(of: "]") else { return nil }
                let after = authority[authority.index(after: close)...]
                if after.hasPrefix(":") { guard let value = Int(after.dropFirst()) else { return nil }; port = value }
                authority = authority[authority.index(after: authority.startIndex)..<close]
            } else if let colon = authority.lastIndex(of: ":") {
                guard let value = Int(authority[authority.index(after: colon)...]) else { return nil }
                port = value
                authority = authority[..<colon]
            }
            guard (1...65535).contains(port) else { return nil }
            rest = ""
            return Target(secure: secure, host: String(authority), port: port, path: path)
        }
    }

    public var timeoutSeconds: Int = 10
    public var maxReplyBytes: Int = 64 * 1024

    public init(timeoutSeconds: Int = 10, maxReplyBytes: Int = 64 * 1024) {
        self.timeoutSeconds = timeoutSeconds
        self.maxReplyBytes = maxReplyBytes
    }

    public func send(_ method: String, _ url: String, headers: [(String, String)] = [], body: [UInt8]? = nil) throws(InstallError) -> Response {
        guard let target = Target.parse(url) else { throw .message("\(url) is not an http(s) URL") }
        let fd = try connect(target)
        let connection: any HTTPConnection
        if target.secure {
            connection = try TLSConnection(fd: fd, host: target.host)
        } else {
            connection = PlainConnection(fd: fd)
        }
        defer { connection.close() }
        var request = "\(method) \(target.path) HTTP/1.1\r\nHost: \(target.host):\(target.port)\r\nConnection: close\r\nUser-Agent: molecule-tenant\r\nAccept: application/json\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        if let body { request += "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n" }
        request += "\r\n"
        try connection.sendAll(Array(request.utf8) + (body ?? []))
        return try Self.parse(try receiveAll(connection), url: url)
    }

    func connect(_ target: Target) throws(InstallError) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(target.host, String(target.port), &hints, &list) == 0, let first = list else {
            throw .message("cannot resolve \(target.host)")
        }
        defer { freeaddrinfo(list) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        var lastError: Int32 = ECONNREFUSED
        var node: UnsafeMutablePointer<addrinfo>? = first
        while let entry = node {
            let fd = socket(entry.pointee.ai_family, entry.pointee.ai_socktype, entry.pointee.ai_protocol)
            if fd >= 0 {
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                if Glibc.connect(fd, entry.pointee.ai_addr, entry.pointee.ai_addrlen) == 0 { return fd }
                lastError = errno
                close(fd)
            }
            node = entry.pointee.ai_next
        }
        throw .system("cannot connect to \(target.host):\(target.port)", lastError)
    }

    func receiveAll(_ connection: any HTTPConnection) throws(InstallError) -> [UInt8] {
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16384)
        // Headers get 8 KiB on top of the body cap.
        let cap = maxReplyBytes + 8192
        while true {
            let count = try connection.receive(into: &chunk)
            if count == 0 { break }
            reply.append(contentsOf: chunk[0..<count])
            if reply.count > cap { throw .message("the reply is larger than \(maxReplyBytes / 1024) KiB") }
        }
        return reply
    }

    static func parse(_ reply: [UInt8], url: String) throws(InstallError) -> Response {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = reply.firstRange(of: separator) else { throw .message("\(url) sent no HTTP reply") }
        let head = String(decoding: reply[..<end.lowerBound], as: UTF8.self)
        let lines = head.split(separator: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw .message("\(url) sent a malformed status line") }
        var body = Array(reply[end.upperBound...])
        let chunked = lines.dropFirst().contains { $0.lowercased().hasPrefix("transfer-encoding:") && $0.lowercased().contains("chunked") }
        if chunked {
            body = dechunk(body)
        } else if let header = lines.dropFirst().first(where: { $0.lowercased().hasPrefix("content-length:") }),
                  let length = Int(header.dropFirst("content-length:".count).trimmingCharacters(in: " ")), body.count < length {
            throw .message("\(url) sent a truncated reply (\(body.count) of \(length) bytes)")
        }
        return Response(status: status, body: body)
    }

    static func dechunk(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var index = 0
        while index < data.count {
            guard let lineEnd = data[index...].firstRange(of: [13, 10]) else { break }
            let sizeText = String(decoding: data[index..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: " "), radix: 16), size > 0 else { break }
            let start = lineEnd.upperBound
            let stop = min(start + size, data.count)
            out.append(contentsOf: data[start..<stop])
            index = stop + 2
        }
        return out
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var text = self
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
