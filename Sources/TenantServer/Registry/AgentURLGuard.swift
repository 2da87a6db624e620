import NIOPosix

/// The SSRF guard for every URL the server may dial (push-mode agent URLs). Refuses
/// non-http(s) schemes, cloud metadata hosts, link-local (169.254/16, fe80::/10),
/// loopback literals (127/8, ::1), RFC-1918 and unique-local ranges, CGNAT,
/// documentation and multicast ranges. `localhost` by name is accepted, as in the
/// reference, for runtimes on the same machine. Other names are resolved and every
/// address must pass; a name that does not resolve is refused.
struct AgentURLGuard: Sendable {
    /// Test hook and operator escape hatch: hosts accepted without checks.
    var allowedHosts: Set<String> = []

    static let metadataHosts: Set<String> = [
        "metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal",
        "metadata.azure.com", "169.254.169.254",
    ]

    func check(_ rawURL: String) async throws {
        let host = try Self.host(of: rawURL)
        let lowered = host.lowercased()
        if allowedHosts.contains(lowered) || lowered == "localhost" { return }
        if Self.metadataHosts.contains(lowered) {
            throw APIError.badRequest("url targets a blocked address: cloud metadata host")
        }
        if let reason = Self.blockedReason(literal: lowered) { throw APIError.badRequest("url targets a blocked address: \(reason)") }
        if IPAddressText.isLiteral(lowered) { return }
        let addresses = try await Self.resolve(lowered)
        guard !addresses.isEmpty else { throw APIError.badRequest("url host \(lowered) cannot be resolved") }
        for address in addresses {
            if let reason = Self.blockedReason(literal: address) {
                throw APIError.badRequest("url host \(lowered) resolves to a blocked address: \(reason)")
            }
        }
    }

    /// The host of an http(s) URL, brackets removed from IPv6 literals.
    static func host(of rawURL: String) throws -> String {
        let lowered = rawURL.lowercased()
        let rest: Substring
        if lowered.hasPrefix("http://") {
            rest = rawURL.dropFirst(7)
        } else if lowered.hasPrefix("https://") {
            rest = rawURL.dropFirst(8)
        } else {
            throw APIError.badRequest("url scheme must be http or https")
        }
        var authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        let host: Substring
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw APIError.badRequest("url is not valid") }
            host = authority[authority.index(after: authority.startIndex)..<close]
        } else {
            host = authority.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        }
        guard !host.isEmpty, !host.contains(where: { $0 == " " || $0 == "%" }) else { throw APIError.badRequest("url has no valid host") }
        return String(host)
    }

    /// Why an IP literal is refused, or nil when it is fine (or not a literal).
    static func blockedReason(literal text: String) -> String? {
        if let v4 = IPAddressText.ipv4(text) { return blockedReason(v4: v4) }
        guard let v6 = IPAddressText.ipv6(text) else { return nil }
        if v6[0..<10].allSatisfy({ $0 == 0 }) && v6[10] == 0xFF && v6[11] == 0xFF {
            return blockedReason(v4: Array(v6[12..<16]))  // IPv4-mapped
        }
        if v6[0..<15].allSatisfy({ $0 == 0 }) && (v6[15] == 1 || v6[15] == 0) { return "IPv6 loopback or unspecified address" }
        if v6[0] == 0xFE && (v6[1] & 0xC0) == 0x80 { return "IPv6 link-local address" }
        if (v6[0] & 0xFE) == 0xFC { return "IPv6 unique-local address" }
        if v6[0] == 0xFF { return "IPv6 multicast address" }
        if v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0x0D && v6[3] == 0xB8 { return "IPv6 documentation address" }
        return nil
    }

    static func blockedReason(v4 a: [UInt8]) -> String? {
        switch (a[0], a[1]) {
        case (0, _): return "unspecified address"
        case (127, _): return "loopback address"
        case (169, 254): return "link-local address (cloud metadata endpoint)"
        case (10, _): return "RFC-1918 private address"
        case (172, 16...31): return "RFC-1918 private address"
        case (192, 168): return "RFC-1918 private address"
        case (100, 64...127): return "carrier-grade NAT address"
        case (224...239, _): return "multicast address"
        case (240...255, _): return "reserved address"
        default: break
        }
        if a[0] == 192 && a[1] == 0 && a[2] == 2 { return "documentation address" }
        if a[0] == 198 && a[1] == 51 && a[2] == 100 { return "documentation address" }
        if a[0] == 203 && a[1] == 0 && a[2] == 113 { return "documentation address" }
        return nil
    }

    /// getaddrinfo blocks, so it runs on NIO's thread pool, not the cooperative pool.
    static func resolve(_ host: String) async throws -> [String] {
        try await NIOThreadPool.singleton.runIfActive { HostResolver.addresses(of: host) }
    }
}
