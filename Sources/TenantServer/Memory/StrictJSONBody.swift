import FoundationEssentials
import Hummingbird
import MemoryContract

extension JSONRequest {
    /// Decodes a JSON object whose keys must all be in `allowed`: a misspelt field is a
    /// 400 naming it, not a silently ignored option.
    static func decodeObject<Value: Decodable>(_ type: Value.Type, _ request: Request, allowed: Set<String>) async throws -> Value {
        let bytes = try await body(request)
        guard !bytes.isEmpty else { throw APIError.badRequest("request body is empty: expected a JSON object") }
        return try decodeObject(type, Data(bytes), allowed: allowed)
    }

    static func decodeObject<Value: Decodable>(_ type: Value.Type, _ data: Data, allowed: Set<String>, at path: String = "") throws -> Value {
        _ = try data.withUnsafeBytes { try object($0, allowed: allowed, at: path) }
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw APIError.badRequest(path + ContractError.describe(error))
        } catch {
            throw APIError.badRequest("\(path.isEmpty ? "body" : path) is not valid")
        }
    }

    /// The body's members, when it is a JSON object whose keys are all in `allowed`;
    /// otherwise the 400 `decodeObject` gives. Read with `JSONReader`, not Foundation.
    static func object(_ bytes: UnsafeRawBufferPointer, allowed: Set<String>, at path: String = "") throws -> [String: JSONValue] {
        guard let value = JSONValue.parse(bytes) else { throw APIError.badRequest("body is not valid JSON") }
        guard case .object(let object) = value else { throw APIError.badRequest("\(path.isEmpty ? "body" : path) must be a JSON object") }
        try rejectUnknownKeys(object, allowed: allowed, at: path)
        return object
    }

    static func rejectUnknownKeys(_ object: [String: JSONValue], allowed: Set<String>, at path: String = "") throws {
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError.badRequest("\(path)\(unknown) is not a known field; expected one of: \(allowed.sorted().joined(separator: ", "))")
        }
    }
}
