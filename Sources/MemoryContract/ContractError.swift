/// The five error codes of contract v1. Every non-2xx body is `{code, message, details?}`.
public enum ErrorCode: String, Sendable, Codable {
    case badRequest = "bad_request"
    case notFound = "not_found"
    case forbidden
    case `internal`
    case unavailable
}

/// A contract error with the HTTP status it is answered with. Messages name the field
/// at fault and never carry SQL, driver text or stack traces.
public struct ContractError: Error, Sendable, Equatable, Codable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var details: [String: JSONValue]?
    /// Not on the wire: the HTTP status for this error.
    public var status: Int

    public init(code: ErrorCode, message: String, details: [String: JSONValue]? = nil, status: Int) {
        self.code = code
        self.message = message
        self.details = details
        self.status = status
    }

    enum CodingKeys: String, CodingKey { case code, message, details }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        code = try container.decode(ErrorCode.self, forKey: .code)
        message = try container.decode(String.self, forKey: .message)
        details = try container.decodeIfPresent([String: JSONValue].self, forKey: .details)
        status = 0
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(code, forKey: .code)
        try container.encode(message, forKey: .message)
        if let details, !details.isEmpty { try container.encode(details, forKey: .details) }
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public static func badRequest(_ message: String, details: [String: JSONValue]? = nil) -> ContractError {
        ContractError(code: .badRequest, message: message, details: details, status: 400)
    }

    public static func notFound(_ message: String) -> ContractError {
        ContractError(code: .notFound, message: message, status: 404)
    }

    public static func forbidden(_ message: String) -> ContractError {
        ContractError(code: .forbidden, message: message, status: 403)
    }

    /// 409: the contract has no conflict code, so conflicts carry `bad_request` with the
    /// status telling them apart (details say what conflicts).
    public static func conflict(_ message: String, details: [String: JSONValue]? = nil) -> ContractError {
        ContractError(code: .badRequest, message: message, details: details, status: 409)
    }

    public static func tooLarge(_ message: String) -> ContractError {
        ContractError(code: .badRequest, message: message, status: 413)
    }

    public static func unavailable(_ message: String = "the memory store is unavailable; retry later") -> ContractError {
        ContractError(code: .unavailable, message: message, status: 503)
    }

    public static func `internal`(_ message: String = "internal error") -> ContractError {
        ContractError(code: .internal, message: message, status: 500)
    }
}
