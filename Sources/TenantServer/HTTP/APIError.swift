import HTTPTypes

/// A failure answered to the client as `{"error": "<message>", "code": "<code>"}`.
/// Runtimes read `error`; `code` is stable for programs. Messages are written for
/// people and never carry SQL, driver text, tokens or request bodies.
struct APIError: Error, Sendable {
    let status: HTTPResponse.Status
    let code: String
    let message: String

    init(_ status: HTTPResponse.Status, code: String, _ message: String) {
        self.status = status
        self.code = code
        self.message = message
    }

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, code: "bad_request", message) }
    static func unauthorized(_ message: String) -> APIError { APIError(.unauthorized, code: "unauthorized", message) }
    static func forbidden(_ message: String) -> APIError { APIError(.forbidden, code: "forbidden", message) }
    static func notFound(_ message: String) -> APIError { APIError(.notFound, code: "not_found", message) }
    static func conflict(_ message: String) -> APIError { APIError(.conflict, code: "conflict", message) }
    static func gone(_ message: String) -> APIError { APIError(.gone, code: "gone", message) }
    static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, code: "too_large", "request body is larger than \(limit) bytes")
    }
    static func rateLimited(_ limit: Int) -> APIError {
        APIError(.tooManyRequests, code: "rate_limited", "rate limit of \(limit) requests per minute exceeded; retry shortly")
    }
    static func unavailable(_ message: String) -> APIError { APIError(.serviceUnavailable, code: "unavailable", message) }
    static func internalError() -> APIError { APIError(.internalServerError, code: "internal", "internal error") }
}
