import Hummingbird

/// CORS from `CORS_ORIGINS`. A request whose Origin is the server's own URL is
/// same-origin (the runtime sends `Origin: <PLATFORM_URL>` on every call) and is
/// never refused; other origins get CORS headers only when listed. Preflights from
/// unlisted origins get 403 JSON; simple requests pass without CORS headers, so the
/// browser, not the server, withholds the answer (auth still applies).
struct CORSPolicyMiddleware: RouterMiddleware {
    typealias Context = TenantRequestContext
    let allowedOrigins: Set<String>
    let publicURL: String?

    static let allowMethods = "GET, POST, PUT, PATCH, DELETE, OPTIONS"
    static let allowHeaders = "Origin, Content-Type, Authorization, X-Workspace-ID, X-Request-Id, X-Molecule-Org-Id"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin] else { return try await next(request, context) }
        let allowed = isSameOrigin(origin, request) || allowedOrigins.contains(origin) || allowedOrigins.contains("*")
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            guard allowed else { throw APIError.forbidden("origin \(origin) is not allowed (CORS_ORIGINS)") }
            var response = Response(status: .noContent)
            decorate(&response, origin: origin)
            response.headers[.accessControlAllowMethods] = Self.allowMethods
            response.headers[.accessControlAllowHeaders] = Self.allowHeaders
            response.headers[.accessControlMaxAge] = "600"
            return response
        }
        var response = try await next(request, context)
        if allowed { decorate(&response, origin: origin) }
        return response
    }

    private func decorate(_ response: inout Response, origin: String) {
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.accessControlAllowCredentials] = "true"
        response.headers[.vary] = "Origin"
    }

    /// Same-origin: the configured public URL, or this request's own Host.
    func isSameOrigin(_ origin: String, _ request: Request) -> Bool {
        let trimmed = origin.hasSuffix("/") ? String(origin.dropLast()) : origin
        if let publicURL, trimmed == publicURL { return true }
        guard let host = request.head.authority else { return false }
        return trimmed == "http://\(host)" || trimmed == "https://\(host)"
    }
}
