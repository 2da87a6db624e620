import MemoryAccess
import Postgres

/// The legacy workspace tree (id -> parent), read once per run: namespaces follow each
/// workspace's place in the tree today, as the server's resolver sees it.
public struct WorkspaceTree: Sendable {
    private var parents: [String: String?]

    public init(parents: [String: String?]) {
        self.parents = parents
    }

    public static func load(_ pool: PostgresPool) async throws -> WorkspaceTree {
        let result = try await pool.query("SELECT id::text, parent_id::text FROM public.workspaces")
        var parents: [String: String?] = [:]
        parents.reserveCapacity(result.count)
        for row in result.rows {
            parents[try row.decode(String.self, at: 0)] = try row.decode(String?.self, at: 1)
        }
        return WorkspaceTree(parents: parents)
    }

    public var count: Int { parents.count }

    public enum LineageProblem: Error, Equatable {
        case unknownWorkspace
        /// The parent chain loops or leads to a missing workspace.
        case brokenTree
    }

    /// The workspace, its parent and its root.
    public func lineage(of id: String) -> Result<WorkspaceLineage, LineageProblem> {
        guard let parent = parents[id] else { return .failure(.unknownWorkspace) }
        var root = id
        var next = parent
        var seen: Set<String> = [id]
        while let step = next {
            guard seen.insert(step).inserted, let stepParent = parents[step] else { return .failure(.brokenTree) }
            root = step
            next = stepParent
        }
        return .success(WorkspaceLineage(workspaceID: id, parentID: parent, rootID: root))
    }
}
