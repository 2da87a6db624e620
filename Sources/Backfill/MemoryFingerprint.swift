import FoundationEssentials
import MemoryContract
import TenantCrypto
import Timestamps

/// The parts of a memory that a copy must keep, compact enough to hold one per legacy
/// row while the plugin is paged: long text is kept as its sha256.
struct MemoryFingerprint: Sendable, Equatable {
    var content: [UInt8]
    var createdAt: Timestamp
    var kind: MemoryKind
    var source: MemorySource
    var expiresAt: Timestamp?
    var pin: Bool
    var propagation: [UInt8]
    var version: Int64?

    init(_ write: MemoryWrite) {
        content = SHA256.hash(Array(write.content.utf8))
        createdAt = write.createdAt ?? Timestamp(microseconds: 0)
        kind = write.kind
        source = write.source
        expiresAt = write.expiresAt
        pin = write.pin ?? false
        propagation = Self.digest(write.propagation)
        version = write.kind == .kv ? write.version : nil
    }

    init(_ memory: Memory) {
        content = SHA256.hash(Array(memory.content.utf8))
        createdAt = memory.createdAt
        kind = memory.kind
        source = memory.source
        expiresAt = memory.expiresAt
        pin = memory.pin
        propagation = Self.digest(memory.propagation)
        version = memory.kind == .kv ? memory.version : nil
    }

    /// The fields that differ, by their wire names; empty when the copy is faithful.
    func differences(from stored: MemoryFingerprint) -> [String] {
        var fields: [String] = []
        if content != stored.content { fields.append("content") }
        if createdAt != stored.createdAt { fields.append("created_at") }
        if kind != stored.kind { fields.append("kind") }
        if source != stored.source { fields.append("source") }
        if expiresAt != stored.expiresAt { fields.append("expires_at") }
        if pin != stored.pin { fields.append("pin") }
        if propagation != stored.propagation { fields.append("propagation") }
        if version != stored.version { fields.append("version") }
        return fields
    }

    /// JSON with sorted keys, so the same object always hashes the same.
    private static func digest(_ object: [String: JSONValue]?) -> [UInt8] {
        guard let object, !object.isEmpty else { return [] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return SHA256.hash(Array((try? encoder.encode(object)) ?? Data()))
    }
}
