import Hummingbird
import Postgres
import RedisClient
import ServiceLifecycle
import SocketHandover

/// The HTTP server and the liveness watcher as one service. When the server stops
/// (graceful shutdown drains in-flight requests first) the watcher is cancelled and
/// the pools close.
struct TenantServerService: Service {
    let app: HandoverHTTPServer<RouterResponder<TenantRequestContext>>
    let watcher: LivenessWatcher
    let pool: PostgresPool
    let redis: RedisClient

    func run() async throws {
        let watching = Task { await watcher.run() }
        defer { watching.cancel() }
        do {
            try await app.run()
        } catch {
            await stop(watching)
            throw error
        }
        await stop(watching)
    }

    private func stop(_ watching: Task<Void, Never>) async {
        watching.cancel()
        await watcher.subscriber.shutdown()
        await watching.value
        await redis.shutdown()
        await pool.shutdown()
    }
}
