/// A reason the server refuses to start, phrased as the one line the operator sees.
public struct TenantServerBootError: Error, CustomStringConvertible, Sendable {
    public let description: String

    static func memoryPluginUnavailable(url: String, waited: Duration) -> TenantServerBootError {
        TenantServerBootError(description: """
            memory plugin at \(url) did not become healthy within \(waited) (GET /v1/health): \
            start it (molecule-tenant memory-plugin), fix MEMORY_PLUGIN_URL, or set MEMORY_PLUGIN_REQUIRED=0 to run degraded
            """)
    }

    static func agentTLSUnavailable(_ reason: String) -> TenantServerBootError {
        TenantServerBootError(description: "TLS for https agents cannot be set up: \(reason) (check A2A_CA_FILE)")
    }

    static func invalidRedisURL(_ reason: String) -> TenantServerBootError {
        TenantServerBootError(description: "REDIS_URL is not valid: \(reason)")
    }
}
