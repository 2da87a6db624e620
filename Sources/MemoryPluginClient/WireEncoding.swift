import MemoryContract
import Timestamps

/// `NamespacePatch` only decodes (the plugin's side); the client writes it: an absent
/// field stays out of the body, `.null` is an explicit JSON null (clear the field).
struct EncodableNamespacePatch: Encodable {
    let patch: NamespacePatch

    enum CodingKeys: String, CodingKey {
        case metadata
        case expiresAt = "expires_at"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch patch.expiresAt {
        case .absent: break
        case .null: try container.encodeNil(forKey: .expiresAt)
        case .value(let value): try container.encode(value, forKey: .expiresAt)
        }
        switch patch.metadata {
        case .absent: break
        case .null: try container.encodeNil(forKey: .metadata)
        case .value(let value): try container.encode(value, forKey: .metadata)
        }
    }
}

/// Percent-encoding for the two places caller text enters a URL.
enum URLEncoding {
    /// A path segment: unreserved characters and `:` (valid namespaces need nothing
    /// else) stay; everything else, `/`, `?`, `#` and `%` included, is escaped, so no
    /// value can change which route is called.
    static func pathSegment(_ text: String) -> String {
        // "." and ".." would be dot-segments that a server may resolve away.
        if !text.isEmpty && text.allSatisfy({ $0 == "." }) { return String(repeating: "%2E", count: text.count) }
        return encode(text, keepColon: true)
    }

    /// A query value.
    static func queryValue(_ text: String) -> String { encode(text, keepColon: false) }

    private static func encode(_ text: String, keepColon: Bool) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            let keep = (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "~")
                || (keepColon && byte == UInt8(ascii: ":"))
            if keep {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = Array("0123456789ABCDEF".utf8)
                out.unicodeScalars.append("%")
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0x0F)]))
            }
        }
        return out
    }
}
