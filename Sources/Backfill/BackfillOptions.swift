/// What one `backfill` run does.
public enum BackfillMode: String, Sendable {
    /// Reads the plugin and reports what `apply` would do; writes nothing.
    case dryRun = "dry-run"
    /// Copies the rows through the plugin's batch route.
    case apply
    /// Checks every copied row against the plugin; a mismatch makes the run fail (exit 3).
    case verify
}

public struct BackfillOptions: Sendable {
    public var mode: BackfillMode
    /// Only this workspace's rows (a UUID).
    public var workspaceID: String?
    /// Stop after this many legacy rows.
    public var limit: Int?
    /// Legacy rows read per batch (one FETCH), and items per plugin batch (at most 1000).
    public var batchSize: Int
    /// Verify only this many workspaces, chosen at random.
    public var verifySample: Int?
    /// Plugin batches in flight while the next one is read.
    public var concurrency: Int

    public init(mode: BackfillMode, workspaceID: String? = nil, limit: Int? = nil, batchSize: Int = 1000, verifySample: Int? = nil, concurrency: Int = 2) {
        self.mode = mode
        self.workspaceID = workspaceID
        self.limit = limit
        self.batchSize = batchSize
        self.verifySample = verifySample
        self.concurrency = concurrency
    }

    public static let maxBatchSize = 1000
}
