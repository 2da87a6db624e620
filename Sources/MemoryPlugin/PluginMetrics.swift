import Postgres
import Synchronization

/// Prometheus counters for the plugin: requests by route and status, a latency
/// histogram, janitor deletions. Rendered by `GET /metrics` with the pool's gauges.
public final class PluginMetrics: Sendable {
    static let bucketsSeconds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

    struct State {
        var requests: [String: Int] = [:]
        var bucketCounts = [Int](repeating: 0, count: PluginMetrics.bucketsSeconds.count)
        var latencyCount = 0
        var latencySum = 0.0
        var janitorDeleted = 0
    }

    private let state = Mutex(State())

    public init() {}

    func record(route: String, method: String, status: Int, duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let value = Double(seconds) + Double(attoseconds) / 1e18
        state.withLock { state in
            state.requests["method=\"\(method)\",route=\"\(route)\",status=\"\(status)\"", default: 0] += 1
            for (index, bound) in Self.bucketsSeconds.enumerated() where value <= bound { state.bucketCounts[index] += 1 }
            state.latencyCount += 1
            state.latencySum += value
        }
    }

    public func recordJanitor(deleted: Int) {
        state.withLock { $0.janitorDeleted += deleted }
    }

    func render(pool: PostgresPool.Statistics) -> String {
        let snapshot = state.withLock { $0 }
        var out = "# HELP memory_plugin_requests_total HTTP requests by route and status.\n# TYPE memory_plugin_requests_total counter\n"
        for key in snapshot.requests.keys.sorted() { out += "memory_plugin_requests_total{\(key)} \(snapshot.requests[key]!)\n" }
        out += "# HELP memory_plugin_request_duration_seconds Request latency.\n# TYPE memory_plugin_request_duration_seconds histogram\n"
        for (index, bound) in Self.bucketsSeconds.enumerated() {
            out += "memory_plugin_request_duration_seconds_bucket{le=\"\(bound)\"} \(snapshot.bucketCounts[index])\n"
        }
        out += "memory_plugin_request_duration_seconds_bucket{le=\"+Inf\"} \(snapshot.latencyCount)\n"
        out += "memory_plugin_request_duration_seconds_sum \(snapshot.latencySum)\n"
        out += "memory_plugin_request_duration_seconds_count \(snapshot.latencyCount)\n"
        out += "# HELP memory_plugin_db_pool_connections Database connections by state.\n# TYPE memory_plugin_db_pool_connections gauge\n"
        out += "memory_plugin_db_pool_connections{state=\"in_use\"} \(pool.inUse)\n"
        out += "memory_plugin_db_pool_connections{state=\"idle\"} \(pool.idle)\n"
        out += "# HELP memory_plugin_db_pool_waiting Requests waiting for a database connection.\n# TYPE memory_plugin_db_pool_waiting gauge\n"
        out += "memory_plugin_db_pool_waiting \(pool.waiting)\n"
        out += "# HELP memory_plugin_janitor_deleted_total Expired memories and namespaces deleted.\n# TYPE memory_plugin_janitor_deleted_total counter\n"
        out += "memory_plugin_janitor_deleted_total \(snapshot.janitorDeleted)\n"
        return out
    }
}
