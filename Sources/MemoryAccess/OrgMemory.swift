import MemoryContract
import TenantCrypto

/// How org memory is shown to agents and audited. Org memory crosses workspaces, so an
/// agent must be able to tell stored text from instructions: it reads every org memory
/// inside a delimiter, and stored text cannot fake one.
public enum OrgMemory {
    /// The prefix of the delimiter agents see.
    public static let delimiterPrefix = "[MEMORY "

    /// True for namespaces of org scope (`org:`).
    public static func isOrgNamespace(_ namespace: String) -> Bool {
        namespace.hasPrefix("org:")
    }

    /// `[MEMORY id=<id> scope=ORG ns=<ns>]: <content>`, as MCP reads present org memories.
    public static func present(id: String, namespace: String, content: String) -> String {
        "[MEMORY id=\(id) scope=ORG ns=\(namespace)]: \(content)"
    }

    /// `present` for an org memory; other memories' content is returned unchanged.
    public static func present(_ memory: Memory) -> String {
        isOrgNamespace(memory.namespace) ? present(id: memory.id, namespace: memory.namespace, content: memory.content) : memory.content
    }

    /// Content about to be written to org memory, with every `[MEMORY ` turned into
    /// `[_MEMORY ` so stored text cannot open a delimiter of its own (as the reference does).
    public static func escapeDelimiters(_ content: String) -> String {
        guard content.contains(delimiterPrefix) else { return content }
        return content.replacing(delimiterPrefix, with: "[_MEMORY ")
    }

    /// The audit digest of an org write: lowercase hex SHA-256 of the content as stored
    /// (after redaction), so the audit proves what was written without keeping it.
    public static func auditDigest(_ content: String) -> String {
        SHA256.hex(content)
    }
}
