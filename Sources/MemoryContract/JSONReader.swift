/// The input is not JSON (RFC 8259): the whole request is refused.
public struct JSONSyntaxError: Error, Sendable {}

/// A pull parser over UTF-8 bytes for the batch route: it reads values straight from the
/// request buffer, with no copy of the body and no intermediate tree, so a batch is held
/// once (as its decoded items) instead of three times. Strict as Foundation's
/// JSONDecoder: valid UTF-8, no control characters in strings, no leading zeros, no
/// trailing content, nesting at most 512 deep.
struct JSONReader {
    private let bytes: UnsafeRawBufferPointer
    private var position = 0
    private var depth = 0
    static let maxDepth = 512

    /// The kind of value that starts at the current position.
    enum Kind { case object, array, string, number, bool, null }

    init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    // MARK: - Structure

    mutating func kind() throws(JSONSyntaxError) -> Kind {
        skipWhitespace()
        guard position < bytes.count else { throw JSONSyntaxError() }
        switch bytes[position] {
        case UInt8(ascii: "{"): return .object
        case UInt8(ascii: "["): return .array
        case UInt8(ascii: "\""): return .string
        case UInt8(ascii: "t"), UInt8(ascii: "f"): return .bool
        case UInt8(ascii: "n"): return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number
        default: throw JSONSyntaxError()
        }
    }

    /// Calls `member` with each key of the object at the current position; `member` must
    /// read (or skip) the key's value.
    mutating func readObject(_ member: (inout JSONReader, String) throws(JSONSyntaxError) -> Void) throws(JSONSyntaxError) {
        try enter(UInt8(ascii: "{"))
        if consume(UInt8(ascii: "}")) { return leave() }
        repeat {
            skipWhitespace()
            let key = try readString()
            guard consume(UInt8(ascii: ":")) else { throw JSONSyntaxError() }
            try member(&self, key)
        } while consume(UInt8(ascii: ","))
        guard consume(UInt8(ascii: "}")) else { throw JSONSyntaxError() }
        leave()
    }

    /// Calls `element` with the index of each element of the array at the current
    /// position; `element` must read (or skip) it.
    mutating func readArray(_ element: (inout JSONReader, Int) throws(JSONSyntaxError) -> Void) throws(JSONSyntaxError) {
        try enter(UInt8(ascii: "["))
        if consume(UInt8(ascii: "]")) { return leave() }
        var index = 0
        repeat {
            try element(&self, index)
            index += 1
        } while consume(UInt8(ascii: ","))
        guard consume(UInt8(ascii: "]")) else { throw JSONSyntaxError() }
        leave()
    }

    /// Fails unless only whitespace is left.
    mutating func finish() throws(JSONSyntaxError) {
        skipWhitespace()
        guard position == bytes.count else { throw JSONSyntaxError() }
    }

    // MARK: - Scalars

    mutating func readString() throws(JSONSyntaxError) -> String {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == UInt8(ascii: "\"") else { throw JSONSyntaxError() }
        position += 1
        let start = position
        // Fast path: no escapes, read the bytes as they are.
        while position < bytes.count {
            let byte = bytes[position]
            if byte == UInt8(ascii: "\"") {
                let text = String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
                position += 1
                guard let text else { throw JSONSyntaxError() }
                return text
            }
            if byte == UInt8(ascii: "\\") { break }
            guard byte >= 0x20 else { throw JSONSyntaxError() }
            position += 1
        }
        var unescaped = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
        while position < bytes.count {
            let byte = bytes[position]
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let text = String(validating: unescaped, as: UTF8.self) else { throw JSONSyntaxError() }
                return text
            case UInt8(ascii: "\\"):
                try readEscape(into: &unescaped)
            case ..<0x20:
                throw JSONSyntaxError()
            default:
                unescaped.append(byte)
            }
        }
        throw JSONSyntaxError()
    }

    private mutating func readEscape(into out: inout [UInt8]) throws(JSONSyntaxError) {
        guard position < bytes.count else { throw JSONSyntaxError() }
        let byte = bytes[position]
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(byte)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = UInt32(try readHex4())
            if (0xD800..<0xDC00).contains(scalar) {
                // A high surrogate must be followed by an escaped low one.
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u") else {
                    throw JSONSyntaxError()
                }
                position += 2
                let low = UInt32(try readHex4())
                guard (0xDC00..<0xE000).contains(low) else { throw JSONSyntaxError() }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            }
            guard let unicode = Unicode.Scalar(scalar) else { throw JSONSyntaxError() }
            out.append(contentsOf: String(Character(unicode)).utf8)
        default:
            throw JSONSyntaxError()
        }
    }

    private mutating func readHex4() throws(JSONSyntaxError) -> UInt16 {
        guard position + 4 <= bytes.count else { throw JSONSyntaxError() }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            position += 1
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw JSONSyntaxError()
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    /// The number at the current position as JSONDecoder reads one into Int64: digits, or
    /// a number whose value is a whole number in range ("1.0", "1e2"); nil otherwise.
    mutating func readInt64() throws(JSONSyntaxError) -> Int64? {
        let text = try readNumberText()
        if let value = Int64(text) { return value }
        guard let value = Double(text), value.rounded() == value, value >= -9.2e18, value <= 9.2e18 else { return nil }
        return Int64(value)
    }

    /// The text of the number at the current position, checked against JSON's grammar.
    mutating func readNumberText() throws(JSONSyntaxError) -> String {
        skipWhitespace()
        let start = position
        _ = consumeRaw(UInt8(ascii: "-"))
        if consumeRaw(UInt8(ascii: "0")) {
            // no leading zeros
        } else {
            guard digits() > 0 else { throw JSONSyntaxError() }
        }
        if consumeRaw(UInt8(ascii: ".")) {
            guard digits() > 0 else { throw JSONSyntaxError() }
        }
        if consumeRaw(UInt8(ascii: "e")) || consumeRaw(UInt8(ascii: "E")) {
            if !consumeRaw(UInt8(ascii: "+")) { _ = consumeRaw(UInt8(ascii: "-")) }
            guard digits() > 0 else { throw JSONSyntaxError() }
        }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<position]), as: UTF8.self)
    }

    mutating func readBool() throws(JSONSyntaxError) -> Bool {
        skipWhitespace()
        if literal("true") { return true }
        if literal("false") { return false }
        throw JSONSyntaxError()
    }

    /// Consumes `null` if it is next.
    mutating func readNull() -> Bool {
        skipWhitespace()
        return literal("null")
    }

    /// Any value, as a tree.
    mutating func readValue() throws(JSONSyntaxError) -> JSONValue {
        switch try kind() {
        case .string: return .string(try readString())
        case .bool: return .bool(try readBool())
        case .null:
            guard readNull() else { throw JSONSyntaxError() }
            return .null
        case .number:
            guard let number = Double(try readNumberText()) else { throw JSONSyntaxError() }
            return .number(number)
        case .array:
            var array: [JSONValue] = []
            try readArray { (reader, _) throws(JSONSyntaxError) in array.append(try reader.readValue()) }
            return .array(array)
        case .object:
            var object: [String: JSONValue] = [:]
            try readObject { (reader, key) throws(JSONSyntaxError) in object[key] = try reader.readValue() }
            return .object(object)
        }
    }

    /// Reads past a value without keeping it (still checking its syntax).
    mutating func skipValue() throws(JSONSyntaxError) {
        switch try kind() {
        case .string: _ = try readString()
        case .bool: _ = try readBool()
        case .null: guard readNull() else { throw JSONSyntaxError() }
        case .number: _ = try readNumberText()
        case .array: try readArray { (reader, _) throws(JSONSyntaxError) in try reader.skipValue() }
        case .object: try readObject { (reader, _) throws(JSONSyntaxError) in try reader.skipValue() }
        }
    }

    /// The bytes of the value at the current position, read past as `skipValue` does.
    /// They point into the input: valid as long as it is.
    mutating func readRawValue() throws(JSONSyntaxError) -> UnsafeRawBufferPointer {
        _ = try kind()
        let start = position
        try skipValue()
        return UnsafeRawBufferPointer(rebasing: bytes[start..<position])
    }

    // MARK: - Bytes

    private mutating func enter(_ opening: UInt8) throws(JSONSyntaxError) {
        skipWhitespace()
        guard position < bytes.count, bytes[position] == opening, depth < Self.maxDepth else { throw JSONSyntaxError() }
        position += 1
        depth += 1
    }

    private mutating func leave() { depth -= 1 }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x0A, 0x0D, 0x09: position += 1
            default: return
            }
        }
    }

    /// Skips whitespace, then consumes `byte` if it is next.
    private mutating func consume(_ byte: UInt8) -> Bool {
        skipWhitespace()
        return consumeRaw(byte)
    }

    private mutating func consumeRaw(_ byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    private mutating func digits() -> Int {
        let start = position
        while position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) { position += 1 }
        return position - start
    }

    private mutating func literal(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard position + count <= bytes.count else { return false }
        for offset in 0..<count where bytes[position + offset] != word.utf8Start[offset] { return false }
        position += count
        return true
    }
}
