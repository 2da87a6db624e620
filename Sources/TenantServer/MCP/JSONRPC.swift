import HTTPTypes
import MemoryContract

/// The JSON-RPC 2.0 envelope MCP travels in (protocol 2024-11-05). A request without
/// an `id` is a notification and gets no answer.
enum JSONRPC {
    static let version = "2.0"

    struct Request: Sendable {
        let id: JSONValue?
        let method: String
        let params: JSONValue?

        var isNotification: Bool { id == nil }

        /// Reads one message; an invalid one is an `ErrorObject` answered with id null.
        init(_ message: JSONValue) throws(ErrorObject) {
            guard case .object(let fields) = message else { throw .invalidRequest("a JSON-RPC message must be an object") }
            guard fields["jsonrpc"] == .string(JSONRPC.version) else { throw .invalidRequest("jsonrpc must be \"2.0\"") }
            guard case .string(let method)? = fields["method"], !method.isEmpty else { throw .invalidRequest("method must be a non-empty string") }
            switch fields["id"] {
            case nil: id = nil
            case .string?, .number?, .null?: id = fields["id"]
            default: throw .invalidRequest("id must be a string, a number or null")
            }
            self.method = method
            params = fields["params"]
        }
    }

    /// A JSON-RPC error: the standard codes plus -32000 for a tool that failed.
    struct ErrorObject: Error, Sendable, Encodable {
        let code: Int
        let message: String
        /// For tool failures: the server's error code and HTTP status, e.g. `unavailable`, 503.
        let data: JSONValue?

        static func parse(_ message: String) -> ErrorObject { ErrorObject(code: -32700, message: message, data: nil) }
        static func invalidRequest(_ message: String) -> ErrorObject { ErrorObject(code: -32600, message: message, data: nil) }
        static func methodNotFound(_ method: String) -> ErrorObject { ErrorObject(code: -32601, message: "method not found: \(method)", data: nil) }
        static func invalidParams(_ message: String) -> ErrorObject { ErrorObject(code: -32602, message: message, data: nil) }

        /// A tool that could not do its job, with the reason the HTTP surface would give.
        static func toolFailed(_ error: APIError) -> ErrorObject {
            ErrorObject(code: -32000, message: error.message, data: .object([
                "code": .string(error.code), "status": .number(Double(error.status.code)),
            ]))
        }
    }

    struct Response: Sendable, Encodable {
        let id: JSONValue
        let result: JSONValue?
        let error: ErrorObject?

        enum CodingKeys: String, CodingKey { case jsonrpc, id, result, error }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(JSONRPC.version, forKey: .jsonrpc)
            try container.encode(id, forKey: .id)
            if let error {
                try container.encode(error, forKey: .error)
            } else {
                try container.encode(result ?? .object([:]), forKey: .result)
            }
        }
    }
}
