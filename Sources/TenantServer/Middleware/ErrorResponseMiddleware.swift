import Hummingbird
import Logging

/// Turns every thrown error into the JSON error body, records the request in the
/// metrics and writes one log line per request (method, route, status, duration;
/// never headers, query strings or bodies, which may hold tokens). Unknown errors
/// become a bare 500: their text may hold internals, so only their type is logged.
struct ErrorResponseMiddleware: RouterMiddleware {
    typealias Context = TenantRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        let response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response = JSONResponse.error(error)
        } catch let error as HTTPError {
            response = JSONResponse.error(Self.translate(error, request))
        } catch {
            context.logger.error("request failed", metadata: ["error_type": "\(String(reflecting: type(of: error)))"])
            response = JSONResponse.error(.internalError())
        }
        let route = context.endpointPath ?? "unmatched"
        let elapsed = ContinuousClock.now - started
        metrics.record(route: route, method: request.method.rawValue, status: Int(response.status.code), duration: elapsed)
        context.logger.info("request", metadata: [
            "method": "\(request.method.rawValue)", "route": "\(route)", "status": "\(response.status.code)",
            "duration_ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
        ])
        return response
    }

    static func translate(_ error: HTTPError, _ request: Request) -> APIError {
        switch error.status.code {
        case 404: return .notFound("no route \(request.method.rawValue) \(request.uri.path)")
        case 405: return APIError(.methodNotAllowed, code: "bad_request", "method \(request.method.rawValue) is not allowed here")
        case 413: return .tooLarge(JSONRequest.maxBodyBytes)
        case 400..<500: return APIError(error.status, code: "bad_request", "bad request")
        default: return .internalError()
        }
    }
}
