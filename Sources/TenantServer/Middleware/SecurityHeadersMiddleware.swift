import HTTPTypes
import Hummingbird

/// Sets the browser hardening headers the reference sets on every response (an API
/// never needs framing, sniffing or referrers), without overriding a handler's own.
struct SecurityHeadersMiddleware: RouterMiddleware {
    typealias Context = TenantRequestContext

    static let headers: [(HTTPField.Name, String)] = [
        (HTTPField.Name("X-Content-Type-Options")!, "nosniff"),
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
        (HTTPField.Name("Referrer-Policy")!, "strict-origin-when-cross-origin"),
        (HTTPField.Name("Content-Security-Policy")!, "default-src 'none'; frame-ancestors 'none'"),
        (HTTPField.Name("Permissions-Policy")!, "camera=(), microphone=(), geolocation=()"),
        (HTTPField.Name("Strict-Transport-Security")!, "max-age=31536000; includeSubDomains"),
        (.cacheControl, "no-store"),
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        for (name, value) in Self.headers where response.headers[name] == nil {
            response.headers[name] = value
        }
        return response
    }
}
