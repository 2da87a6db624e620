import Hummingbird
import Logging
import RedisClient
import TenantCrypto

/// Per-caller rate limit in Redis (RATE_LIMIT requests per minute, fixed window), so
/// every server replica shares one budget. The caller is the bearer token (by hash,
/// never the token itself) or else the peer address. Over the limit: 429 JSON with
/// Retry-After. Redis unreachable: the request passes and a warning is logged, since
/// refusing every request because the limiter is down would be the bigger outage.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = TenantRequestContext
    let redis: RedisClient
    let limitPerMinute: Int
    /// Health, metrics and build info stay reachable for probes and scrapers.
    static let exemptPaths: Set<String> = ["/health", "/metrics", "/buildinfo"]

    /// INCR and EXPIRE in one round trip, atomically, so a key never lives forever.
    static let script = """
        local count = redis.call('INCR', KEYS[1])
        if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
        return count
        """

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard limitPerMinute > 0, !Self.exemptPaths.contains(request.uri.path) else { return try await next(request, context) }
        let now = WallClock.secondsSinceEpoch()
        let window = now / 60
        let key = "rl:\(Self.caller(request, context)):\(window)"
        let count: Int
        do {
            count = try await redis.eval(Self.script, keys: [key], arguments: ["61"]).int ?? 0
        } catch {
            context.logger.warning("rate limiter unavailable; request allowed", metadata: ["error": "\(error)"])
            return try await next(request, context)
        }
        guard count <= limitPerMinute else {
            var response = JSONResponse.error(.rateLimited(limitPerMinute))
            response.headers[.retryAfter] = "\(60 - now % 60)"
            return response
        }
        return try await next(request, context)
    }

    static func caller(_ request: Request, _ context: Context) -> String {
        if let token = BearerToken.from(request) { return "t:" + String(SHA256.hex(token).prefix(32)) }
        return "a:" + (context.remoteAddress?.ipAddress ?? "unknown")
    }
}
