import MemoryPluginClient
import Postgres
import RedisClient
import TLSClient

/// What the route collections share: the stores, the authenticator, liveness and
/// the bits of configuration routes need. Built once at boot.
struct ServerDependencies: Sendable {
    let pool: PostgresPool
    let redis: RedisClient
    let authenticator: Authenticator
    /// Clears every replica's verified-token cache after a token, workspace or tree change.
    let tokenCacheInvalidation: TokenCacheInvalidation
    let workspaces: WorkspaceStore
    let tokens: WorkspaceTokenStore
    let liveness: LivenessTracker
    let activity: ActivityStore
    let urlGuard: AgentURLGuard
    let publicURL: String?
    /// The memory plugin: the only store of agent memory (DESIGN section 1).
    let memoryPlugin: MemoryPluginClient
    let events: EventBus
    let a2a: A2AConfiguration
    /// The trust store https agents are verified against (system store plus `A2A_CA_FILE`).
    let agentTLS: TLSClientContext
    /// Delegations this process is delivering right now (failed at a graceful stop).
    let inFlightDelegations: InFlightDelegations
}
