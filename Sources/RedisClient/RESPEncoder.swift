import NIOCore

/// Writes RESP2.
///
/// Clients send every command as an array of bulk strings, which keeps arguments binary safe;
/// `encode(_:into:)` writes any value and exists mainly so parser round trips can be tested.
public enum RESPEncoder {
    /// Writes one command (`["SET", "key", "value"]`) as an array of bulk strings.
    public static func encodeCommand(_ arguments: [ByteBuffer], into buffer: inout ByteBuffer) {
        writeHeader(UInt8(ascii: "*"), arguments.count, into: &buffer)
        for argument in arguments {
            writeHeader(UInt8(ascii: "$"), argument.readableBytes, into: &buffer)
            buffer.writeImmutableBuffer(argument)
            writeCRLF(into: &buffer)
        }
    }

    /// Writes one command given as UTF-8 strings.
    public static func encodeCommand(_ arguments: [String], into buffer: inout ByteBuffer) {
        writeHeader(UInt8(ascii: "*"), arguments.count, into: &buffer)
        for argument in arguments {
            writeHeader(UInt8(ascii: "$"), argument.utf8.count, into: &buffer)
            buffer.writeString(argument)
            writeCRLF(into: &buffer)
        }
    }

    /// Writes any RESP2 value.
    ///
    /// Simple strings and errors must not contain CR or LF; such characters are replaced by spaces
    /// rather than producing a frame that would desynchronise the peer.
    public static func encode(_ value: RESPValue, into buffer: inout ByteBuffer) {
        switch value {
        case .simpleString(let text):
            writeLine(UInt8(ascii: "+"), text, into: &buffer)
        case .error(let message):
            writeLine(UInt8(ascii: "-"), message, into: &buffer)
        case .integer(let number):
            writeHeader(UInt8(ascii: ":"), number, into: &buffer)
        case .bulkString(let bytes):
            writeHeader(UInt8(ascii: "$"), bytes.readableBytes, into: &buffer)
            buffer.writeImmutableBuffer(bytes)
            writeCRLF(into: &buffer)
        case .null:
            buffer.writeStaticString("$-1\r\n")
        case .array(let elements):
            writeHeader(UInt8(ascii: "*"), elements.count, into: &buffer)
            for element in elements { encode(element, into: &buffer) }
        case .nullArray:
            buffer.writeStaticString("*-1\r\n")
        }
    }

    private static func writeLine(_ type: UInt8, _ text: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(type)
        for byte in text.utf8 {
            buffer.writeInteger(byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") ? UInt8(ascii: " ") : byte)
        }
        writeCRLF(into: &buffer)
    }

    /// Writes `<type><decimal>\r\n`.
    private static func writeHeader(_ type: UInt8, _ number: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(type)
        // Decimal text of an Int fits a small (inline, heap-free) String.
        buffer.writeString(String(number))
        writeCRLF(into: &buffer)
    }

    private static func writeCRLF(into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(0x0D0A))  // "\r\n" in network byte order
    }

    /// The encoded size of a command, used to allocate the output buffer once.
    static func encodedSize(of arguments: [ByteBuffer]) -> Int {
        // 1 type byte + up to 20 digits + CRLF per header is a safe over-estimate.
        arguments.reduce(23) { $0 + 23 + $1.readableBytes + 2 }
    }
}
