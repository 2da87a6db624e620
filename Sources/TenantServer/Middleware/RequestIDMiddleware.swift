import HTTPTypes
import Hummingbird
import Logging
import TenantCrypto

/// Gives every request an id: the caller's `X-Request-Id` when it is short and
/// printable, else a fresh one. The id is echoed on the response and attached to
/// the request's log lines, so a client report can be matched to the server log.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = TenantRequestContext
    static let header = HTTPField.Name("X-Request-Id")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let id = Self.accepted(request.headers[Self.header]) ?? Hex.encode(SecureRandom.bytes(8))
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        var response = try await next(request, context)
        response.headers[Self.header] = id
        return response
    }

    /// Client ids are kept only when they cannot forge log lines or headers.
    static func accepted(_ value: String?) -> String? {
        guard let value, (1...128).contains(value.utf8.count) else { return nil }
        let allowed = value.utf8.allSatisfy { byte in
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122) || byte == 45 || byte == 95 || byte == 46
        }
        return allowed ? value : nil
    }
}
