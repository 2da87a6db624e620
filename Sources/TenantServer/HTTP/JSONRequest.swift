import FoundationEssentials
import Hummingbird
import MemoryContract
import NIOCore

/// Reads request bodies under the size cap and decodes them, turning every failure
/// into a 4xx that names the problem (never the body itself).
enum JSONRequest {
    /// Request bodies above this are answered 413 (DESIGN section 5: 1 MiB default).
    static let maxBodyBytes = 1 << 20

    static func decode<Value: Decodable>(_ type: Value.Type, _ request: Request) async throws -> Value {
        let bytes = try await body(request)
        guard !bytes.isEmpty else { throw APIError.badRequest("request body is empty: expected a JSON object") }
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch let error as DecodingError {
            throw APIError.badRequest(ContractError.describe(error))
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.badRequest("body is not valid JSON")
        }
    }

    static func body(_ request: Request) async throws -> [UInt8] {
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: maxBodyBytes)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw APIError.tooLarge(maxBodyBytes)
        } catch let error as HTTPError where error.status == .contentTooLarge {
            throw APIError.tooLarge(maxBodyBytes)
        }
    }
}
