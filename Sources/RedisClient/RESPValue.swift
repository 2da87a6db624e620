import NIOCore

/// One RESP2 value, as sent by a Redis server.
///
/// RESP2 has two distinct null encodings (`$-1` and `*-1`); they are kept apart so that
/// encoding a parsed value reproduces the original bytes.
public enum RESPValue: Sendable, Hashable {
    /// `+OK\r\n`
    case simpleString(String)
    /// `-ERR message\r\n`
    case error(String)
    /// `:42\r\n`
    case integer(Int)
    /// `$5\r\nhello\r\n`: binary safe.
    case bulkString(ByteBuffer)
    /// `$-1\r\n`: e.g. `GET` of a missing key.
    case null
    /// `*2\r\n...`: elements may themselves be arrays.
    case array([RESPValue])
    /// `*-1\r\n`: e.g. `BLPOP` that timed out.
    case nullArray

    /// Text of a simple or bulk string (bulk bytes decoded as UTF-8, invalid sequences repaired);
    /// the decimal text of an integer; `nil` for errors, nulls and arrays.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes): String(buffer: bytes)
        case .integer(let number): String(number)
        case .error, .null, .array, .nullArray: nil
        }
    }

    /// The value of an integer reply, or of a string reply holding a decimal integer
    /// (Redis returns counters stored by `SET` as bulk strings).
    public var int: Int? {
        switch self {
        case .integer(let number): number
        case .simpleString(let text): Int(text)
        case .bulkString(let bytes): Int(String(buffer: bytes))
        case .error, .null, .array, .nullArray: nil
        }
    }

    /// The raw bytes of a bulk string, or the UTF-8 bytes of a simple string.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let buffer): Array(buffer.readableBytesView)
        case .simpleString(let text): Array(text.utf8)
        case .integer, .error, .null, .array, .nullArray: nil
        }
    }

    /// The elements of an array reply.
    public var array: [RESPValue]? {
        if case .array(let elements) = self { return elements }
        return nil
    }

    /// `true` for both RESP2 nulls.
    public var isNull: Bool {
        switch self {
        case .null, .nullArray: true
        default: false
        }
    }

    /// The message of an error reply.
    public var errorMessage: String? {
        if case .error(let message) = self { return message }
        return nil
    }
}

extension RESPValue {
    /// A bulk string holding the UTF-8 bytes of `text`; handy for tests and encoding.
    public static func bulkString(_ text: String) -> RESPValue {
        .bulkString(ByteBuffer(string: text))
    }
}

extension RESPValue: CustomStringConvertible {
    /// A short description that reveals the shape of the value but not bulk contents,
    /// so that printing a reply can never leak a stored secret into logs.
    public var description: String {
        switch self {
        case .simpleString(let text): "+\(text)"
        case .error(let message): "-\(message)"
        case .integer(let number): ":\(number)"
        case .bulkString(let bytes): "$<\(bytes.readableBytes) bytes>"
        case .null: "$-1"
        case .array(let elements): "[" + elements.map(\.description).joined(separator: ", ") + "]"
        case .nullArray: "*-1"
        }
    }
}
