/// The statuses this server moves workspaces between (values of the
/// `workspace_status` enum shared with the reference schema).
enum WorkspaceStatus: String, Sendable {
    case provisioning, online, offline, degraded, failed, removed
    case awaitingAgent = "awaiting_agent"
}

/// Runtimes that run on the operator's own machine and connect in (`external`).
enum WorkspaceRuntime {
    static let external = "external"
    static let defaultRuntime = "hermes"
}
