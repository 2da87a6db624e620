import MemoryContract

/// Where a workspace sits in its tree: itself, its parent (nil for a root) and the root.
public struct WorkspaceLineage: Sendable, Hashable {
    public let workspaceID: String
    public let parentID: String?
    public let rootID: String

    /// An empty parent id counts as none, as the reference reads `parent_id`. A root's
    /// root is itself, whatever `rootID` says.
    public init(workspaceID: String, parentID: String?, rootID: String) {
        self.workspaceID = workspaceID
        let parent = parentID.flatMap { $0.isEmpty ? nil : $0 }
        self.parentID = parent
        self.rootID = parent == nil ? workspaceID : rootID
    }

    /// A workspace with no parent; only a root may write org memory.
    public var isRoot: Bool { parentID == nil }
}

/// The legacy v1 memory scopes that agents and runtimes send and read back.
public enum MemoryScope: String, Sendable, CaseIterable, Codable {
    /// `workspace:<self>`
    case local = "LOCAL"
    /// `team:<parent, or self for a root>`
    case team = "TEAM"
    /// `org:<root>`; readable by the whole tree, writable by the root only.
    case global = "GLOBAL"

    /// The namespace kind a scope maps to.
    public var namespaceKind: NamespaceKind {
        switch self {
        case .local: .workspace
        case .team: .team
        case .global: .org
        }
    }

    /// The scope of a namespace by its prefix (`workspace:` LOCAL, `team:` TEAM, `org:`
    /// GLOBAL); nil for any other namespace.
    public init?(namespace: String) {
        if namespace.hasPrefix("workspace:") {
            self = .local
        } else if namespace.hasPrefix("team:") {
            self = .team
        } else if namespace.hasPrefix("org:") {
            self = .global
        } else {
            return nil
        }
    }
}

/// Why a workspace may not use a namespace or scope.
public enum MemoryAccessError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The workspace may not write (or read) there: 403 at the HTTP edge.
    case forbidden(String)
    /// Not one of LOCAL, TEAM, GLOBAL: 400.
    case invalidScope(String)

    public var description: String {
        switch self {
        case .forbidden(let message), .invalidScope(let message): message
        }
    }

    /// The contract error a surface answers with.
    public var contractError: ContractError {
        switch self {
        case .forbidden(let message): .forbidden(message)
        case .invalidScope(let message): .badRequest(message)
        }
    }
}

/// One namespace a workspace can see, as the namespace-listing tools show it.
public struct NamespaceGrant: Sendable, Hashable {
    public let name: String
    public let kind: NamespaceKind
    public let scope: MemoryScope
    public let writable: Bool
    public let description: String
}

/// The namespaces a workspace may read and write, from its lineage alone. Callers
/// re-derive the lineage from the live tree on every request: a workspace can be moved
/// between discovering a namespace and writing to it.
public struct NamespaceResolver: Sendable, Hashable {
    public let lineage: WorkspaceLineage

    public init(lineage: WorkspaceLineage) {
        self.lineage = lineage
    }

    public init(workspaceID: String, parentID: String?, rootID: String) {
        self.lineage = WorkspaceLineage(workspaceID: workspaceID, parentID: parentID, rootID: rootID)
    }

    public var workspaceNamespace: String { "workspace:" + lineage.workspaceID }
    public var teamNamespace: String { "team:" + (lineage.parentID ?? lineage.workspaceID) }
    public var orgNamespace: String { "org:" + lineage.rootID }

    /// Workspace, team, org: in this order, so callers can reason about precedence.
    public var grants: [NamespaceGrant] {
        [
            NamespaceGrant(name: workspaceNamespace, kind: .workspace, scope: .local, writable: true,
                           description: "This workspace's private memories"),
            NamespaceGrant(name: teamNamespace, kind: .team, scope: .team, writable: true,
                           description: "Memories shared across team members (parent + siblings)"),
            NamespaceGrant(name: orgNamespace, kind: .org, scope: .global, writable: lineage.isRoot,
                           description: "Org-wide memories visible to every workspace under this root"),
        ]
    }

    /// `workspace:<self>`, `team:<parent or self>`, `org:<root>`.
    public var readable: [String] { grants.map(\.name) }

    /// Workspace and team; org too when this workspace is the root.
    public var writable: [String] { grants.filter(\.writable).map(\.name) }

    public func canRead(_ namespace: String) -> Bool { readable.contains(namespace) }

    public func canWrite(_ namespace: String) -> Bool { writable.contains(namespace) }

    /// The namespace a read of `scope` searches. Every scope is readable.
    public func readNamespace(for scope: MemoryScope) -> String {
        switch scope {
        case .local: workspaceNamespace
        case .team: teamNamespace
        case .global: orgNamespace
        }
    }

    /// The namespace a write of `scope` goes to; GLOBAL from a non-root is forbidden.
    public func writeNamespace(for scope: MemoryScope) throws(MemoryAccessError) -> String {
        if scope == .global && !lineage.isRoot {
            throw .forbidden("only root workspaces can write GLOBAL memories")
        }
        return readNamespace(for: scope)
    }

    /// `writeNamespace(for:)` from the scope's wire text (`LOCAL`, `TEAM`, `GLOBAL`).
    public func writeNamespace(forScope text: String) throws(MemoryAccessError) -> String {
        try writeNamespace(for: try Self.scope(text))
    }

    /// Parses a wire scope exactly as the reference does (upper case only).
    public static func scope(_ text: String) throws(MemoryAccessError) -> MemoryScope {
        guard let scope = MemoryScope(rawValue: text) else {
            throw .invalidScope("scope must be LOCAL, TEAM, or GLOBAL")
        }
        return scope
    }

    /// The scope a recalled memory carries back to the agent; nil for a namespace outside
    /// the three kinds.
    public func scope(ofNamespace namespace: String) -> MemoryScope? {
        MemoryScope(namespace: namespace)
    }

    /// Checks a namespace the caller named for a write (MCP tools, v2 surfaces).
    public func requireWritable(_ namespace: String) throws(MemoryAccessError) {
        guard canWrite(namespace) else {
            throw .forbidden("workspace \(lineage.workspaceID) cannot write to namespace \(namespace)")
        }
    }

    /// The requested namespaces the workspace may read, in request order; all readable
    /// namespaces when none are requested. Others are dropped, never an error, so a
    /// stale namespace list leaks nothing and fails nothing.
    public func intersectReadable(_ requested: [String]) -> [String] {
        guard !requested.isEmpty else { return readable }
        let allowed = Set(readable)
        var seen = Set<String>()
        return requested.filter { allowed.contains($0) && seen.insert($0).inserted }
    }
}
