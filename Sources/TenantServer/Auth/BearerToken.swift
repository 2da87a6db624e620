import Hummingbird

/// `Authorization: Bearer <token>`; anything else counts as no token.
enum BearerToken {
    /// Works on the header's UTF-8 bytes: every authenticated request runs it, and
    /// Character-level trimming showed up in profiles.
    static func from(_ request: Request) -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let bytes = header.utf8
        let prefix = "Bearer ".utf8
        guard bytes.starts(with: prefix) else { return nil }
        var start = bytes.index(bytes.startIndex, offsetBy: prefix.count)
        var end = bytes.endIndex
        while start < end, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") { bytes.formIndex(after: &start) }
        while start < end {
            let last = bytes.index(before: end)
            guard bytes[last] == UInt8(ascii: " ") || bytes[last] == UInt8(ascii: "\t") else { break }
            end = last
        }
        return start < end ? String(Substring(bytes[start..<end])) : nil
    }
}

extension StringProtocol {
    func trimmed(of characters: String) -> String {
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice = slice.dropFirst() }
        while let last = slice.last, characters.contains(last) { slice = slice.dropLast() }
        return String(slice)
    }
}
