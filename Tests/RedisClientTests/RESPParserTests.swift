import NIOCore
import RedisClient
import Testing

@Suite("RESP2 parser and encoder")
struct RESPParserTests {
    static let samples: [RESPValue] = [
        .simpleString("OK"),
        .simpleString(""),
        .error("ERR unknown command 'FOO'"),
        .integer(0),
        .integer(-42),
        .integer(Int.max),
        .integer(Int.min),
        .bulkString("hello"),
        .bulkString(""),
        .bulkString(ByteBuffer(bytes: [0, 13, 10, 255, 36, 42])),
        .null,
        .array([]),
        .nullArray,
        .array([.integer(1), .bulkString("two"), .null, .simpleString("four")]),
        .array([.array([.integer(1), .array([.bulkString("deep"), .nullArray])]), .array([]), .error("E")]),
    ]

    private func encoded(_ value: RESPValue) -> ByteBuffer {
        var buffer = ByteBuffer()
        RESPEncoder.encode(value, into: &buffer)
        return buffer
    }

    @Test("every kind of value survives an encode and parse round trip", arguments: samples)
    func roundTrip(value: RESPValue) throws {
        var buffer = encoded(value)
        var parser = RESPParser()
        #expect(try parser.parse(&buffer) == value)
        #expect(buffer.readableBytes == 0)
    }

    @Test("values fed one byte at a time come out whole and in order")
    func incrementalParsing() throws {
        var all = ByteBuffer()
        for value in Self.samples { RESPEncoder.encode(value, into: &all) }
        var parser = RESPParser()
        var pending = ByteBuffer()
        var parsed: [RESPValue] = []
        for byte in all.readableBytesView {
            pending.writeInteger(byte)
            while let value = try parser.parse(&pending) {
                parsed.append(value)
            }
        }
        #expect(parsed == Self.samples)
    }

    @Test("an incomplete bulk string consumes nothing until its payload has arrived")
    func incompleteBulkString() throws {
        var parser = RESPParser()
        var buffer = ByteBuffer(string: "$5\r\nhel")
        #expect(try parser.parse(&buffer) == nil)
        #expect(buffer.readableBytes == 7)
        buffer.writeString("lo\r\n")
        #expect(try parser.parse(&buffer) == .bulkString("hello"))
    }

    @Test("literal server bytes parse to the expected values")
    func literalBytes() throws {
        var buffer = ByteBuffer(string: "*3\r\n$3\r\nfoo\r\n:-7\r\n*-1\r\n+PONG\r\n$-1\r\n")
        var parser = RESPParser()
        #expect(try parser.parse(&buffer) == .array([.bulkString("foo"), .integer(-7), .nullArray]))
        #expect(try parser.parse(&buffer) == .simpleString("PONG"))
        #expect(try parser.parse(&buffer) == .null)
        #expect(try parser.parse(&buffer) == nil)
    }

    @Test(
        "malformed input is a protocol error",
        arguments: [
            "?what\r\n",  // unknown type byte
            "+OK\n",  // LF without CR
            ":12a\r\n",  // not a number
            ":\r\n",  // empty number
            ":99999999999999999999\r\n",  // overflows Int
            "$-2\r\n",  // negative length other than -1
            "$3\r\nfooXY",  // payload not followed by CRLF
            "*-5\r\n",  // negative count other than -1
            "$+3\r\nfoo\r\n",  // explicit plus sign
        ])
    func malformedInput(text: String) {
        var buffer = ByteBuffer(string: text)
        var parser = RESPParser()
        #expect(throws: RedisError.self) { try parser.parse(&buffer) }
    }

    @Test("a bulk string announced above 512 MiB is refused before any of it arrives")
    func oversizedBulkString() {
        var buffer = ByteBuffer(string: "$\(512 * 1024 * 1024 + 1)\r\n")
        var parser = RESPParser()
        #expect {
            try parser.parse(&buffer)
        } throws: { error in
            guard case RedisError.protocolError(let message) = error else { return false }
            return message.contains("exceeds")
        }
    }

    @Test("an array announced above a million elements is refused")
    func oversizedArray() {
        var buffer = ByteBuffer(string: "*\(1024 * 1024 + 1)\r\n")
        var parser = RESPParser()
        #expect(throws: RedisError.self) { try parser.parse(&buffer) }
    }

    @Test("an array of exactly the maximum size is accepted as a header")
    func arrayAtLimit() throws {
        var buffer = ByteBuffer(string: "*\(1024 * 1024)\r\n:1\r\n")
        var parser = RESPParser()
        #expect(try parser.parse(&buffer) == nil)
    }

    @Test("nesting deeper than the limit is refused instead of exhausting memory or stack")
    func deepNesting() {
        var buffer = ByteBuffer(string: String(repeating: "*1\r\n", count: 100_000))
        var parser = RESPParser()
        #expect(throws: RedisError.self) { try parser.parse(&buffer) }
    }

    @Test("a line without CRLF longer than the limit is refused")
    func endlessLine() {
        var parser = RESPParser(limits: .init(maxLineLength: 16))
        var buffer = ByteBuffer(string: "+" + String(repeating: "a", count: 100))
        #expect(throws: RedisError.self) { try parser.parse(&buffer) }
    }

    @Test("commands are encoded as arrays of bulk strings")
    func commandEncoding() {
        var buffer = ByteBuffer()
        RESPEncoder.encodeCommand(["SET", "k", "vé"], into: &buffer)
        #expect(String(buffer: buffer) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nvé\r\n")

        var binary = ByteBuffer()
        RESPEncoder.encodeCommand([ByteBuffer(string: "GET"), ByteBuffer(bytes: [0, 10])], into: &binary)
        #expect(Array(binary.readableBytesView) == Array("*2\r\n$3\r\nGET\r\n$2\r\n".utf8) + [0, 10, 13, 10])
    }

    @Test("value accessors convert only where the meaning is unambiguous")
    func accessors() {
        #expect(RESPValue.bulkString("12").int == 12)
        #expect(RESPValue.integer(7).string == "7")
        #expect(RESPValue.null.string == nil)
        #expect(RESPValue.nullArray.isNull)
        #expect(RESPValue.error("ERR x").errorMessage == "ERR x")
        #expect(RESPValue.bulkString("secret").description == "$<6 bytes>")
    }
}
