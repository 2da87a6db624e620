import Postgres
import Synchronization

/// Prometheus counters for the server: requests by route, method and status, and a
/// latency histogram. Rendered by `GET /metrics` with the pool's gauges.
final class ServerMetrics: Sendable {
    static let bucketsSeconds: [Double] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

    private struct State {
        var requests: [String: Int] = [:]
        var bucketCounts = [Int](repeating: 0, count: ServerMetrics.bucketsSeconds.count)
        var latencyCount = 0
        var latencySum = 0.0
    }

    private let state = Mutex(State())

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

    func render(pool: PostgresPool.Statistics) -> String {
        let snapshot = state.withLock { $0 }
        var out = "# HELP molecule_tenant_requests_total HTTP requests by route and status.\n# TYPE molecule_tenant_requests_total counter\n"
        for key in snapshot.requests.keys.sorted() { out += "molecule_tenant_requests_total{\(key)} \(snapshot.requests[key]!)\n" }
        out += "# HELP molecule_tenant_request_duration_seconds Request latency.\n# TYPE molecule_tenant_request_duration_seconds histogram\n"
        for (index, bound) in Self.bucketsSeconds.enumerated() {
            out += "molecule_tenant_request_duration_seconds_bucket{le=\"\(bound)\"} \(snapshot.bucketCounts[index])\n"
        }
        out += "molecule_tenant_request_duration_seconds_bucket{le=\"+Inf\"} \(snapshot.latencyCount)\n"
        out += "molecule_tenant_request_duration_seconds_sum \(snapshot.latencySum)\n"
        out += "molecule_tenant_request_duration_seconds_count \(snapshot.latencyCount)\n"
        out += "# HELP molecule_tenant_db_pool_connections Database connections by state.\n# TYPE molecule_tenant_db_pool_connections gauge\n"
        out += "molecule_tenant_db_pool_connections{state=\"in_use\"} \(pool.inUse)\n"
        out += "molecule_tenant_db_pool_connections{state=\"idle\"} \(pool.idle)\n"
        return out
    }
}
