import MemoryContract

/// Splits a batch so each request stays under the plugin's 1 MiB body cap. The size of
/// an item's JSON is bounded from above without encoding it twice: every byte of a
/// string counts as the longest escape it could need.
enum BatchSplitter {
    /// Room left below 1 MiB for the envelope and our estimate's slack.
    static let maxRequestBytes = 960 * 1024

    static func split(_ rows: [MappedRow], maxBytes: Int = maxRequestBytes) -> [[MappedRow]] {
        // Most batches are far below the cap even if every byte needed a six-byte escape:
        // then no string is scanned.
        if rows.reduce(0, { $0 + roughBound($1) }) <= maxBytes { return [rows] }
        var chunks: [[MappedRow]] = []
        var current: [MappedRow] = []
        var size = 0
        for row in rows {
            let itemSize = estimate(row)
            if !current.isEmpty, size + itemSize > maxBytes {
                chunks.append(current)
                current = []
                size = 0
            }
            current.append(row)
            size += itemSize
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }

    /// A looser upper bound than `estimate`, from string lengths alone.
    static func roughBound(_ row: MappedRow) -> Int {
        var size = 400 + 3 * 2 + 6 * (row.write.content.utf8.count + row.namespace.utf8.count + (row.write.key?.utf8.count ?? 0))
        if let propagation = row.write.propagation {
            for (name, value) in propagation { size += 6 * name.utf8.count + 2 + roughBound(value) }
        }
        if let embedding = row.write.embedding { size += embedding.count * 16 }
        return size
    }

    private static func roughBound(_ value: JSONValue) -> Int {
        switch value {
        case .string(let text): 6 * text.utf8.count + 2
        case .object(let object): object.reduce(2) { $0 + 6 * $1.key.utf8.count + 2 + roughBound($1.value) + 2 }
        case .array(let array): array.reduce(2) { $0 + roughBound($1) + 1 }
        default: 32
        }
    }

    /// An upper bound of the item's encoded size in bytes.
    static func estimate(_ row: MappedRow) -> Int {
        var size = 400  // field names, id, kind, source, times, version, punctuation
        size += jsonString(row.write.content) + jsonString(row.namespace)
        if let key = row.write.key { size += jsonString(key) }
        if let propagation = row.write.propagation {
            for (name, value) in propagation { size += jsonString(name) + estimate(value) }
        }
        if let embedding = row.write.embedding { size += embedding.count * 16 }
        return size
    }

    private static func estimate(_ value: JSONValue) -> Int {
        switch value {
        case .string(let text): jsonString(text)
        case .object(let object): object.reduce(2) { $0 + jsonString($1.key) + estimate($1.value) + 2 }
        case .array(let array): array.reduce(2) { $0 + estimate($1) + 1 }
        default: 32
        }
    }

    /// Control characters may become `\u00XX` (6 bytes); quotes, backslashes and slashes 2.
    private static func jsonString(_ text: String) -> Int {
        var size = 2
        for byte in text.utf8 {
            if byte < 0x20 {
                size += 6
            } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "/") {
                size += 2
            } else {
                size += 1
            }
        }
        return size
    }
}
