import HTTPTypes
import Hummingbird

extension Request {
    /// A query parameter, or nil when absent or empty.
    func query(_ name: String) -> String? {
        guard let value = uri.queryParameters[Substring(name)], !value.isEmpty else { return nil }
        return String(value)
    }

    /// A header value, or nil when absent or empty.
    func header(_ name: String) -> String? {
        guard let field = HTTPField.Name(name), let value = headers[field], !value.isEmpty else { return nil }
        return value
    }
}

extension TenantRequestContext {
    /// A path parameter that must be a workspace UUID; anything else is a 400 so it
    /// never reaches SQL as a cast error.
    func workspaceID(_ name: String = "id") throws -> String {
        let value = try parameters.require(name)
        guard UUIDText.isValid(value) else { throw APIError.badRequest("\(name) must be a workspace UUID") }
        return value.lowercased()
    }
}

/// UUID syntax checks without Foundation's UUID parser allocations.
enum UUIDText {
    static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return false }
        for (index, byte) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(index) {
                guard byte == UInt8(ascii: "-") else { return false }
            } else {
                let isHex = (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 70) || (byte >= 97 && byte <= 102)
                guard isHex else { return false }
            }
        }
        return true
    }
}
