import FoundationEssentials
import MemoryContract

/// A JSON-RPC A2A request as received: the original bytes (forwarded unchanged) and
/// the method. A bare `{"params": ...}` without an envelope is wrapped as `message/send`,
/// as the reference accepts it.
struct A2AMessage: Sendable {
    let bytes: [UInt8]
    let method: String
    let value: JSONValue

    init(_ bytes: [UInt8]) throws {
        guard !bytes.isEmpty else { throw APIError.badRequest("request body is empty: expected a JSON-RPC object") }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: Data(bytes)), case .object(var object) = value else {
            throw APIError.badRequest("invalid A2A body: expected a JSON-RPC object")
        }
        guard case .object = object["params"] ?? .null else { throw APIError.badRequest("invalid A2A body: params must be an object") }
        switch object["method"] {
        case .string(let method) where !method.isEmpty:
            self.method = method
            self.bytes = bytes
            self.value = value
        case nil:
            object["jsonrpc"] = .string("2.0")
            object["method"] = .string("message/send")
            if object["id"] == nil { object["id"] = .string(UUID().uuidString.lowercased()) }
            self.method = "message/send"
            self.value = .object(object)
            self.bytes = try JSONResponse.encoder.encodeBytes(self.value)
        default:
            throw APIError.badRequest("invalid A2A body: method must be a non-empty string")
        }
    }

    /// `params.message.messageId`, when present.
    var messageID: String? {
        guard case .object(let object) = value, case .object(let params) = object["params"] ?? .null,
              case .object(let message) = params["message"] ?? .null, case .string(let id) = message["messageId"] ?? .null else { return nil }
        return id
    }
}
