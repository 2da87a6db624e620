import NIOCore

/// An incremental RESP2 parser.
///
/// Feed it the bytes received so far; it consumes complete values from the front of the buffer and
/// keeps partially received arrays in its own state, so a large reply arriving in many reads is
/// parsed in linear time. Nesting is handled with an explicit stack, so hostile input cannot
/// overflow the call stack.
public struct RESPParser: Sendable {
    /// Upper bounds that protect the client from a misbehaving or malicious server.
    public struct Limits: Sendable, Hashable {
        /// Largest accepted bulk string, in bytes. Redis itself caps strings at 512 MiB.
        public var maxBulkStringLength: Int
        /// Largest accepted array, in elements.
        public var maxArrayCount: Int
        /// Deepest accepted nesting of arrays inside arrays.
        public var maxNestingDepth: Int
        /// Longest accepted line for simple strings, errors, integers and length headers.
        public var maxLineLength: Int

        /// Creates limits; the defaults match what a Redis server can legitimately send.
        public init(
            maxBulkStringLength: Int = 512 * 1024 * 1024,
            maxArrayCount: Int = 1024 * 1024,
            maxNestingDepth: Int = 64,
            maxLineLength: Int = 64 * 1024
        ) {
            self.maxBulkStringLength = maxBulkStringLength
            self.maxArrayCount = maxArrayCount
            self.maxNestingDepth = maxNestingDepth
            self.maxLineLength = maxLineLength
        }

        /// 512 MiB bulk strings, 1 Mi array elements, 64 levels of nesting, 64 KiB lines.
        public static let `default` = Limits()
    }

    /// An array whose header has been read but not all of its elements.
    private struct PartialArray: Sendable {
        var remaining: Int
        var elements: [RESPValue]
    }

    /// What one step of parsing produced.
    private enum Element {
        case value(RESPValue)
        case arrayHeader(count: Int)
    }

    /// The bounds this parser enforces.
    public let limits: Limits
    private var openArrays: [PartialArray] = []

    /// Creates a parser with no partial state.
    public init(limits: Limits = .default) {
        self.limits = limits
    }

    /// Parses the next complete value from the front of `buffer`.
    ///
    /// - Returns: the value, or `nil` if `buffer` does not yet hold all of it. Bytes belonging to
    ///   already-complete elements of an unfinished array are consumed and remembered.
    /// - Throws: `RedisError.protocolError` on malformed input or when a limit is exceeded.
    ///   The parser must not be used again after it throws.
    public mutating func parse(_ buffer: inout ByteBuffer) throws -> RESPValue? {
        nextElement: while let element = try readElement(&buffer) {
            var completed: RESPValue
            switch element {
            case .value(let value):
                completed = value
            case .arrayHeader(let count):
                guard openArrays.count < limits.maxNestingDepth else {
                    throw RedisError.protocolError("arrays nested deeper than \(limits.maxNestingDepth) levels")
                }
                // Reserve modestly: the count is attacker-controlled until the elements really arrive.
                var elements: [RESPValue] = []
                elements.reserveCapacity(min(count, 1024))
                openArrays.append(PartialArray(remaining: count, elements: elements))
                continue nextElement
            }
            // Fold the finished value into its parents; stop at the first parent still waiting for elements.
            while !openArrays.isEmpty {
                let top = openArrays.count - 1
                openArrays[top].elements.append(completed)
                openArrays[top].remaining -= 1
                if openArrays[top].remaining > 0 { continue nextElement }
                completed = .array(openArrays.removeLast().elements)
            }
            return completed
        }
        return nil
    }

    /// Reads one scalar value or one array header, consuming it only if it is complete.
    private func readElement(_ buffer: inout ByteBuffer) throws -> Element? {
        guard let typeByte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        guard let line = try peekLine(buffer) else { return nil }
        let lineBytes = buffer.getSlice(at: buffer.readerIndex + 1, length: line.contentLength)!

        switch typeByte {
        case UInt8(ascii: "+"):
            buffer.moveReaderIndex(forwardBy: line.totalLength)
            return .value(.simpleString(String(buffer: lineBytes)))

        case UInt8(ascii: "-"):
            buffer.moveReaderIndex(forwardBy: line.totalLength)
            return .value(.error(String(buffer: lineBytes)))

        case UInt8(ascii: ":"):
            let number = try Self.parseInteger(lineBytes)
            buffer.moveReaderIndex(forwardBy: line.totalLength)
            return .value(.integer(number))

        case UInt8(ascii: "$"):
            let length = try Self.parseInteger(lineBytes)
            if length == -1 {
                buffer.moveReaderIndex(forwardBy: line.totalLength)
                return .value(.null)
            }
            guard length >= 0 else { throw RedisError.protocolError("negative bulk string length \(length)") }
            guard length <= limits.maxBulkStringLength else {
                throw RedisError.protocolError(
                    "bulk string of \(length) bytes exceeds the limit of \(limits.maxBulkStringLength)")
            }
            // Wait until the payload and its CRLF are all here, so nothing is consumed twice.
            guard buffer.readableBytes >= line.totalLength + length + 2 else { return nil }
            buffer.moveReaderIndex(forwardBy: line.totalLength)
            let payload = buffer.readSlice(length: length)!
            guard buffer.readInteger(as: UInt8.self) == UInt8(ascii: "\r"),
                buffer.readInteger(as: UInt8.self) == UInt8(ascii: "\n")
            else {
                throw RedisError.protocolError("bulk string not terminated by CRLF")
            }
            return .value(.bulkString(payload))

        case UInt8(ascii: "*"):
            let count = try Self.parseInteger(lineBytes)
            buffer.moveReaderIndex(forwardBy: line.totalLength)
            if count == -1 { return .value(.nullArray) }
            guard count >= 0 else { throw RedisError.protocolError("negative array length \(count)") }
            guard count <= limits.maxArrayCount else {
                throw RedisError.protocolError(
                    "array of \(count) elements exceeds the limit of \(limits.maxArrayCount)")
            }
            return count == 0 ? .value(.array([])) : .arrayHeader(count: count)

        default:
            throw RedisError.protocolError("unknown RESP type byte \(typeByte)")
        }
    }

    /// Finds the CRLF ending the line at the reader index.
    /// - Returns: `nil` when the line is not complete yet.
    private func peekLine(_ buffer: ByteBuffer) throws -> (contentLength: Int, totalLength: Int)? {
        let view = buffer.readableBytesView
        // The type byte never is part of the content, so the search starts after it.
        let searchEnd = min(view.endIndex, view.startIndex + 1 + limits.maxLineLength + 2)
        guard let newline = view[(view.startIndex + 1)..<searchEnd].firstIndex(of: UInt8(ascii: "\n")) else {
            if view.count >= 1 + limits.maxLineLength + 2 {
                throw RedisError.protocolError("line longer than \(limits.maxLineLength) bytes")
            }
            return nil
        }
        guard newline > view.startIndex + 1, view[newline - 1] == UInt8(ascii: "\r") else {
            throw RedisError.protocolError("line not terminated by CRLF")
        }
        let contentLength = newline - 1 - (view.startIndex + 1)
        return (contentLength, newline + 1 - view.startIndex)
    }

    /// Parses a signed decimal integer without allocating and without accepting `+`, spaces or overflow.
    static func parseInteger(_ bytes: ByteBuffer) throws -> Int {
        let digits = bytes.readableBytesView
        var index = digits.startIndex
        let negative = index < digits.endIndex && digits[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        guard index < digits.endIndex else { throw RedisError.protocolError("empty integer") }
        var value = 0
        while index < digits.endIndex {
            let byte = digits[index]
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw RedisError.protocolError("invalid integer")
            }
            let digit = Int(byte - UInt8(ascii: "0"))
            // Accumulating negatively lets Int.min parse without overflowing.
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = negative
                ? shifted.subtractingReportingOverflow(digit)
                : shifted.addingReportingOverflow(digit)
            guard !overflow1, !overflow2 else { throw RedisError.protocolError("integer out of range") }
            value = next
            index += 1
        }
        return value
    }
}

/// Adapts `RESPParser` to NIO's decoder machinery, which accumulates reads for it.
struct RESPValueDecoder: NIOSingleStepByteToMessageDecoder {
    typealias InboundOut = RESPValue

    private var parser: RESPParser

    init(limits: RESPParser.Limits) {
        self.parser = RESPParser(limits: limits)
    }

    mutating func decode(buffer: inout ByteBuffer) throws -> RESPValue? {
        try parser.parse(&buffer)
    }

    mutating func decodeLast(buffer: inout ByteBuffer, seenEOF: Bool) throws -> RESPValue? {
        // A partial value left at EOF is dropped: the commands waiting for it fail as the channel closes.
        try decode(buffer: &buffer)
    }
}
