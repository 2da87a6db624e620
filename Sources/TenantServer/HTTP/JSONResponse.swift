import FoundationEssentials
import Hummingbird
import NIOCore

/// JSON responses with the content type set, encoded the way the reference's
/// clients expect (snake_case keys come from each type's CodingKeys).
enum JSONResponse {
    static func ok<Value: Encodable>(_ value: Value) throws -> Response { try make(value, status: .ok) }

    static func make<Value: Encodable>(_ value: Value, status: HTTPResponse.Status) throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encodeBytes(value))))
    }

    /// JSON text written by hand (a `JSONWriter`), for answers on a hot path.
    static func raw(_ bytes: [UInt8], status: HTTPResponse.Status) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func error(_ error: APIError) -> Response {
        let body = ErrorBody(error: error.message, code: error.code)
        let bytes = (try? encoder.encodeBytes(body)) ?? Array(#"{"error":"internal error","code":"internal"}"#.utf8)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: error.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .withoutEscapingSlashes
        return encoder
    }

    struct ErrorBody: Encodable {
        let error: String
        let code: String
    }
}

extension JSONEncoder {
    func encodeBytes<Value: Encodable>(_ value: Value) throws -> [UInt8] {
        let data: Data = try encode(value)
        return Array(data)
    }
}
