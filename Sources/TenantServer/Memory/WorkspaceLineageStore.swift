import MemoryAccess
import Postgres

/// Where a workspace sits in its tree, read from the live rows on every request: a
/// workspace moved between two calls must not keep the namespaces of its old place.
struct WorkspaceLineageStore: Sendable {
    let pool: PostgresPool

    /// A workspace's lineage and the names of itself, its parent and its root (for labels).
    struct Placement: Sendable {
        let lineage: WorkspaceLineage
        let name: String
        let parentName: String?
        let rootName: String

        var resolver: NamespaceResolver { NamespaceResolver(lineage: lineage) }
    }

    /// Walks parent links up to the root (at most 64 levels, which also stops a cycle).
    static let sql = """
        WITH RECURSIVE chain AS (
            SELECT id, parent_id, name, 0 AS depth FROM public.workspaces
            WHERE id = $1 AND status IS DISTINCT FROM 'removed'
            UNION ALL
            SELECT w.id, w.parent_id, w.name, c.depth + 1 FROM public.workspaces w
            JOIN chain c ON w.id = c.parent_id WHERE c.depth < 64
        )
        SELECT
            (SELECT name FROM chain WHERE depth = 0),
            (SELECT parent_id::text FROM chain WHERE depth = 0),
            (SELECT name FROM chain WHERE depth = 1),
            (SELECT id::text FROM chain ORDER BY depth DESC LIMIT 1),
            (SELECT name FROM chain ORDER BY depth DESC LIMIT 1)
        """

    /// Nil when the workspace does not exist or was removed.
    func placement(of workspaceID: String) async throws -> Placement? {
        let row = try await pool.query(Self.sql, [workspaceID]).rows[0]
        guard let name = try row.decode(String?.self, at: 0), let rootID = try row.decode(String?.self, at: 3) else { return nil }
        let lineage = WorkspaceLineage(workspaceID: workspaceID, parentID: try row.decode(String?.self, at: 1), rootID: rootID)
        return Placement(lineage: lineage, name: name, parentName: try row.decode(String?.self, at: 2),
                         rootName: try row.decode(String?.self, at: 4) ?? name)
    }
}
