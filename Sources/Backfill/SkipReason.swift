/// Why a legacy row is not copied. Every skip is counted by reason and reported with
/// the row's id; `docs/backfill.md` says what to do about each.
public enum SkipReason: String, Sendable, Codable, CaseIterable, Comparable {
    /// `agent_memories.workspace_id` is NULL: no namespace can be derived.
    case noWorkspace = "no_workspace"
    /// The workspace id is not in `workspaces`.
    case unknownWorkspace = "unknown_workspace"
    /// The workspace's parent chain loops or breaks.
    case brokenTree = "broken_tree"
    /// A GLOBAL memory written by a workspace that is not a root (only roots own org memory).
    case globalFromNonRoot = "global_from_non_root"
    /// A scope other than LOCAL, TEAM, GLOBAL.
    case unknownScope = "unknown_scope"
    /// Blank content, which the plugin refuses.
    case emptyContent = "empty_content"
    /// Content over the plugin's 100,000-byte cap.
    case contentTooLarge = "content_too_large"
    /// A K/V entry already expired: the legacy server no longer served it either.
    case expired
    /// A K/V key over the plugin's 1,024-byte cap, or empty.
    case invalidKey = "invalid_key"

    public static func < (lhs: SkipReason, rhs: SkipReason) -> Bool { lhs.rawValue < rhs.rawValue }
}
