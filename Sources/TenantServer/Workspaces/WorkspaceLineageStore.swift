import MemoryAccess
import Postgres

/// Where a workspace sits in its tree, read from the live rows: a workspace moved between
/// two calls must not keep the namespaces of its old place. (The memory routes may take it
/// from `VerifiedTokenCache`, which every replica clears when the tree changes.)
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

    /// The walk from the workspace named by `parameter` up its parent links to the root
    /// (at most 64 levels, which also stops a cycle), as a CTE named `chain`. Shared with
    /// the token lookup, which reads a placement in the same round trip.
    static func chain(from parameter: String) -> String {
        """
        chain AS (
            SELECT id, parent_id, name, 0 AS depth FROM public.workspaces
            WHERE id = \(parameter) AND status IS DISTINCT FROM 'removed'
            UNION ALL
            SELECT w.id, w.parent_id, w.name, c.depth + 1 FROM public.workspaces w
            JOIN chain c ON w.id = c.parent_id WHERE c.depth < 64
        )
        """
    }

    /// Five columns read from `chain`: name, parent id, parent name, root id, root name.
    static let placementColumns = """
        (SELECT name FROM chain WHERE depth = 0),
        (SELECT parent_id::text FROM chain WHERE depth = 0),
        (SELECT name FROM chain WHERE depth = 1),
        (SELECT id::text FROM chain ORDER BY depth DESC LIMIT 1),
        (SELECT name FROM chain ORDER BY depth DESC LIMIT 1)
        """

    static let sql = "WITH RECURSIVE \(chain(from: "$1")) SELECT \(placementColumns)"

    /// Nil when the workspace does not exist or was removed. Prepared once per connection:
    /// most workspace routes run it.
    func placement(of workspaceID: String) async throws -> Placement? {
        let result = try await pool.withConnection { try await $0.query(prepared: Self.sql, [workspaceID]) }
        return try Self.placement(of: workspaceID, from: result.rows[0], at: 0)
    }

    /// The placement, or 404 when the workspace does not exist or was removed.
    func requirePlacement(of workspaceID: String) async throws -> Placement {
        guard let placement = try await placement(of: workspaceID) else { throw APIError.notFound("workspace not found") }
        return placement
    }

    /// Decodes `placementColumns` starting at column `first`; nil when the chain was empty.
    static func placement(of workspaceID: String, from row: PostgresRow, at first: Int) throws -> Placement? {
        guard let name = try row.decode(String?.self, at: first), let rootID = try row.decode(String?.self, at: first + 3) else { return nil }
        let lineage = WorkspaceLineage(workspaceID: workspaceID, parentID: try row.decode(String?.self, at: first + 1), rootID: rootID)
        return Placement(lineage: lineage, name: name, parentName: try row.decode(String?.self, at: first + 2),
                         rootName: try row.decode(String?.self, at: first + 4) ?? name)
    }
}
