import Hummingbird

/// The URL agents use to reach this server: the configured public URL, else the
/// scheme-less Host of the request they came in on (http).
enum PlatformURL {
    static func resolve(_ configured: String?, _ request: Request) -> String {
        if let configured { return configured }
        let host = request.head.authority ?? "127.0.0.1"
        return "http://\(host)"
    }
}
