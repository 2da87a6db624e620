/// The status a heartbeat moves a workspace to, as the reference decides:
/// a self-reported wedge or an error rate of 0.5 and up degrades an online
/// workspace; an error rate under 0.1 without a wedge brings a degraded one back;
/// any heartbeat brings an offline, provisioning, awaiting_agent or failed one online.
enum HeartbeatTransition {
    static func next(from current: String, errorRate: Double, runtimeState: String) -> String? {
        switch current {
        case WorkspaceStatus.online.rawValue:
            return runtimeState == "wedged" || errorRate >= 0.5 ? WorkspaceStatus.degraded.rawValue : nil
        case WorkspaceStatus.degraded.rawValue:
            return errorRate < 0.1 && runtimeState.isEmpty ? WorkspaceStatus.online.rawValue : nil
        case WorkspaceStatus.offline.rawValue, WorkspaceStatus.provisioning.rawValue,
             WorkspaceStatus.awaitingAgent.rawValue, WorkspaceStatus.failed.rawValue:
            return WorkspaceStatus.online.rawValue
        default:
            return nil
        }
    }
}
