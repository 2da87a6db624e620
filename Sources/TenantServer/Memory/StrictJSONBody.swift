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
        let object: [String: JSONValue]
        do {
            object = try JSONDecoder().decode([String: JSONValue].self, from: data)
        } catch DecodingError.typeMismatch {
            throw APIError.badRequest("\(path.isEmpty ? "body" : path) must be a JSON object")
        } catch {
            throw APIError.badRequest("body is not valid JSON")
        }
        try rejectUnknownKeys(object, allowed: allowed, at: path)
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch let error as DecodingError {
            throw APIError.badRequest(path + ContractError.describe(error))
        } catch {
            throw APIError.badRequest("\(path.isEmpty ? "body" : path) is not valid")
        }
    }

    static func rejectUnknownKeys(_ object: [String: JSONValue], allowed: Set<String>, at path: String = "") throws {
        if let unknown = object.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw APIError.badRequest("\(path)\(unknown) is not a known field; expected one of: \(allowed.sorted().joined(separator: ", "))")
        }
    }
}
