import Logging
import MemoryContract
import MemoryPluginClient

/// How the server reaches the memory plugin: the client every memory surface shares,
/// and the boot gate that waits for the plugin's health (DESIGN section 5).
enum MemoryPluginLink {
    /// The shared client. A `MEMORY_PLUGIN_URL` that is not `http://host:port` stops boot.
    static func makeClient(_ configuration: TenantServerConfiguration, logger: Logger) throws -> MemoryPluginClient {
        do {
            return MemoryPluginClient(
                configuration: try MemoryPluginClientConfiguration(baseURL: configuration.memoryPluginURL, timeout: configuration.memoryPluginTimeout),
                logger: logger)
        } catch {
            throw TenantServerBootError(description: "\(error)")
        }
    }

    /// True when the plugin answers `/v1/health` with ok now.
    static func isHealthy(_ client: MemoryPluginClient) async -> Bool {
        (try? await client.health())?.status == "ok"
    }

    /// Waits up to `MEMORY_PLUGIN_BOOT_WAIT` for a healthy plugin. The probes go through a
    /// client of their own whose breaker never opens, so a plugin that starts a moment
    /// after the server is noticed at once and the shared client starts with a clean slate.
    /// Returns whether the plugin is up; throws only when it is required and never came.
    static func waitForPlugin(_ configuration: TenantServerConfiguration, logger: Logger) async throws -> Bool {
        let probe = MemoryPluginClient(configuration: try MemoryPluginClientConfiguration(
            baseURL: configuration.memoryPluginURL, timeout: min(configuration.memoryPluginTimeout, .seconds(1)),
            maxConnections: 1, breakerFailureThreshold: Int.max))
        let healthy: Bool
        do {
            healthy = try await poll(probe, until: ContinuousClock.now + configuration.memoryPluginBootWait, configuration, logger)
        } catch {
            await probe.shutdown()
            throw error
        }
        await probe.shutdown()
        if healthy { return true }
        guard configuration.memoryPluginRequired else {
            logger.warning("memory plugin unavailable; running degraded (MEMORY_PLUGIN_REQUIRED=0): memory routes answer 503 until it is up",
                           metadata: ["url": "\(configuration.memoryPluginURL)"])
            return false
        }
        throw TenantServerBootError.memoryPluginUnavailable(url: configuration.memoryPluginURL, waited: configuration.memoryPluginBootWait)
    }

    private static func poll(
        _ probe: MemoryPluginClient, until deadline: ContinuousClock.Instant, _ configuration: TenantServerConfiguration, _ logger: Logger
    ) async throws -> Bool {
        var announced = false
        while true {
            if await isHealthy(probe) { return true }
            if ContinuousClock.now >= deadline { return false }
            if !announced {
                logger.notice("waiting for the memory plugin", metadata: ["url": "\(configuration.memoryPluginURL)"])
                announced = true
            }
            try await Task.sleep(for: .milliseconds(250))
        }
    }
}
