/// Secret keys become environment variable names in the runtime, so they are kept to
/// what a shell accepts plus `.` and `-`; at most 256 bytes. Values up to 64 KiB.
enum SecretName {
    static let maxKeyBytes = 256
    static let maxValueBytes = 64 * 1024

    static func validate(key: String) throws -> String {
        guard !key.isEmpty else { throw APIError.badRequest("key is required") }
        guard key.utf8.count <= maxKeyBytes else { throw APIError.badRequest("key is longer than \(maxKeyBytes) bytes") }
        let allowed = key.utf8.allSatisfy { byte in
            (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        }
        guard allowed else { throw APIError.badRequest("key may contain only letters, digits, '_', '.' and '-'") }
        return key
    }

    static func validate(value: String) throws -> String {
        guard !value.isEmpty else { throw APIError.badRequest("value is required") }
        guard value.utf8.count <= maxValueBytes else { throw APIError.badRequest("value is longer than \(maxValueBytes) bytes") }
        return value
    }
}
