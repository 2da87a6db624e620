import Hummingbird
import HummingbirdWebSocket
import MemoryPluginClient
import Postgres
import RedisClient
import ServiceLifecycle
import SocketHandover

/// The HTTP server and the liveness watcher as one service. When the server stops
/// (graceful shutdown drains in-flight requests first) the watcher is cancelled and
/// the pools close.
struct TenantServerService: Service {
    let app: HandoverHTTPServer<RouterResponder<TenantRequestContext>, HTTP1WebSocketUpgradeChannel>
    let watcher: LivenessWatcher
    let messaging: MessagingBackground
    let tokenCacheInvalidation: TokenCacheInvalidation
    let pool: PostgresPool
    let redis: RedisClient
    let memoryPlugin: MemoryPluginClient

    func run() async throws {
        let watching = Task { await watcher.run() }
        let messagingTask = Task { await messaging.run() }
        let invalidationTask = Task { await tokenCacheInvalidation.run() }
        defer { watching.cancel(); messagingTask.cancel(); invalidationTask.cancel() }
        do {
            try await app.run()
        } catch {
            await stop(watching, messagingTask, invalidationTask)
            throw error
        }
        await stop(watching, messagingTask, invalidationTask)
    }

    private func stop(_ watching: Task<Void, Never>, _ messagingTask: Task<Void, Never>, _ invalidationTask: Task<Void, Never>) async {
        invalidationTask.cancel()
        await invalidationTask.value
        messagingTask.cancel()
        await messaging.stop()
        await messagingTask.value
        watching.cancel()
        await watcher.subscriber.shutdown()
        await watching.value
        await redis.shutdown()
        await memoryPlugin.shutdown()
        await pool.shutdown()
    }
}
