/// Who called a workspace route, and the workspace's place in its tree when the
/// authenticating query already read it. Routes ask for the placement only after their
/// own checks, so a bad body is still 400 before a missing workspace is 404.
struct WorkspaceAccess: Sendable {
    let caller: Authenticator.Caller
    let workspaceID: String
    let known: WorkspaceLineageStore.Placement?
    let lineages: WorkspaceLineageStore

    /// The placement read with the token, or read now; 404 when the workspace does not exist.
    func placement() async throws -> WorkspaceLineageStore.Placement {
        if let known { return known }
        return try await lineages.requirePlacement(of: workspaceID)
    }
}
