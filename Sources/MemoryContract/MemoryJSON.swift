import Timestamps

/// Memories written straight to JSON bytes, for the responses that carry many of them
/// (search, listing): Foundation's JSONEncoder was a fifth of the plugin's CPU per search.
/// The bytes are what JSONEncoder writes for `Memory` (same keys, same order, same
/// omissions, whole numbers without ".0"), with `/` not escaped, as the plugin's encoder
/// is configured.
extension JSONWriter {
    public mutating func memory(_ memory: Memory) {
        raw("{")
        key("id", first: true)
        string(memory.id)
        key("namespace")
        string(memory.namespace)
        key("content")
        string(memory.content)
        key("kind")
        string(memory.kind.rawValue)
        key("source")
        string(memory.source.rawValue)
        if let expiresAt = memory.expiresAt {
            key("expires_at")
            string(expiresAt.rfc3339)
        }
        if let propagation = memory.propagation, !propagation.isEmpty {
            key("propagation")
            object(propagation)
        }
        if memory.pin {
            key("pin")
            bool(true)
        }
        key("created_at")
        string(memory.createdAt.rfc3339)
        if let score = memory.score {
            key("score")
            number(score)
        }
        if let memoryKey = memory.key {
            key("key")
            string(memoryKey)
        }
        if let version = memory.version {
            key("version")
            integer(version)
        }
        raw("}")
    }

    /// An array of memories (`[]` when empty, never null).
    public mutating func memories(_ memories: [Memory]) { array(memories) { $0.memory($1) } }
}

extension SearchResponse {
    /// The response body, as `JSONEncoder` would write it.
    public var jsonBytes: [UInt8] {
        var writer = JSONWriter(capacity: 16 + memories.count * 320)
        writer.raw("{\"memories\":")
        writer.memories(memories)
        writer.raw("}")
        return writer.bytes
    }
}
