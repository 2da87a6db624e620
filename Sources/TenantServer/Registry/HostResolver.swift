#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Name resolution and IP literal parsing through libc (no NIO in scope here, so
/// the socket types are libc's own).
enum HostResolver {
    /// Every address `host` resolves to, as text; empty when it does not resolve.
    static func addresses(of host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { return [] }
        defer { freeaddrinfo(list) }
        var out: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if let address = entry.pointee.ai_addr,
               getnameinfo(address, entry.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                out.append(text(buffer))
            }
            cursor = entry.pointee.ai_next
        }
        return out
    }

    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// IP literal parsing through inet_pton (no Foundation, exact semantics).
enum IPAddressText {
    static func isLiteral(_ text: String) -> Bool { ipv4(text) != nil || ipv6(text) != nil }

    static func ipv4(_ text: String) -> [UInt8]? {
        var address = [UInt8](repeating: 0, count: 4)
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return address
    }

    static func ipv6(_ text: String) -> [UInt8]? {
        var address = [UInt8](repeating: 0, count: 16)
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return address
    }
}
