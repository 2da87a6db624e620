/// How the client reaches the plugin and how patient it is.
public struct MemoryPluginClientConfiguration: Sendable, Equatable {
    /// `MEMORY_PLUGIN_URL`'s default.
    public static let defaultURL = "http://127.0.0.1:9100"

    /// The plugin's host (name, IPv4 or IPv6 literal without brackets).
    public var host: String
    public var port: Int
    /// Per call, covering the wait for a connection, connecting and the whole answer
    /// (`MEMORY_PLUGIN_TIMEOUT`, default 2 s).
    public var timeout: Duration
    /// Keep-alive connections kept open at most; further calls wait for one.
    public var maxConnections: Int
    /// Answers larger than this are a protocol violation (the connection is dropped).
    public var maxResponseBytes: Int
    /// Consecutive failures (transport errors, timeouts, 5xx) that open the breaker.
    public var breakerFailureThreshold: Int
    /// How long an open breaker fails calls before it lets one probe through.
    public var breakerCooldown: Duration

    /// Parses `baseURL`, which must be `http://host:port` (a trailing `/` is allowed).
    public init(
        baseURL: String = Self.defaultURL, timeout: Duration = .seconds(2), maxConnections: Int = 16,
        maxResponseBytes: Int = 16 << 20, breakerFailureThreshold: Int = 5, breakerCooldown: Duration = .seconds(5)
    ) throws(MemoryPluginClientError) {
        (host, port) = try Self.parse(baseURL)
        guard timeout > .zero else { throw .invalidConfiguration("MEMORY_PLUGIN_TIMEOUT must be greater than zero") }
        guard maxConnections >= 1 else { throw .invalidConfiguration("the plugin client needs at least one connection") }
        guard maxResponseBytes >= 1024 else { throw .invalidConfiguration("the plugin client's response cap must be at least 1 KiB") }
        guard breakerFailureThreshold >= 1 else { throw .invalidConfiguration("the breaker threshold must be at least 1") }
        self.timeout = timeout
        self.maxConnections = maxConnections
        self.maxResponseBytes = maxResponseBytes
        self.breakerFailureThreshold = breakerFailureThreshold
        self.breakerCooldown = breakerCooldown
    }

    /// `host:port` as the Host header carries it.
    var authority: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// The plugin listens on loopback in plain HTTP; TLS, credentials and paths in the URL
    /// would be silently ignored, so they are refused instead.
    static func parse(_ url: String) throws(MemoryPluginClientError) -> (String, Int) {
        func invalid(_ why: String) -> MemoryPluginClientError {
            // Echo the value to help, but never a password in it.
            var shown = String(url.prefix(200))
            if let at = shown.lastIndex(of: "@"), let scheme = shown.firstRange(of: "://"), scheme.upperBound <= at {
                shown.replaceSubrange(scheme.upperBound..<at, with: "***")
            }
            return .invalidConfiguration("MEMORY_PLUGIN_URL \"\(shown)\" \(why); use http://host:port, e.g. \(defaultURL)")
        }
        guard url.hasPrefix("http://") else {
            throw invalid(url.hasPrefix("https://") ? "uses https, which the plugin does not speak" : "is not an http:// URL")
        }
        var rest = Substring(url.dropFirst("http://".count))
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.contains("@") else { throw invalid("carries credentials") }
        guard !rest.contains(where: { $0 == "/" || $0 == "?" || $0 == "#" }) else { throw invalid("has a path, query or fragment") }
        let host: Substring
        let portText: Substring
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw invalid("has an unclosed IPv6 bracket") }
            host = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            guard after.hasPrefix(":") else { throw invalid("has no port") }
            portText = after.dropFirst()
        } else {
            guard let colon = rest.lastIndex(of: ":") else { throw invalid("has no port") }
            host = rest[..<colon]
            portText = rest[rest.index(after: colon)...]
        }
        guard !host.isEmpty, !host.contains(where: { $0.isWhitespace }) else { throw invalid("has no host") }
        guard portText.allSatisfy(\.isASCII), let port = Int(portText), (1...65535).contains(port) else {
            throw invalid("has no valid port")
        }
        return (String(host), port)
    }
}
