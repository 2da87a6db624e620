import Logging
import Hummingbird

/// Assembles the router: middleware outermost first (request id, security headers,
/// error bodies and logging, CORS, rate limit), then every route collection.
enum ServerRouter {
    static func make(
        _ dependencies: ServerDependencies, configuration: TenantServerConfiguration, metrics: ServerMetrics
    ) -> Router<TenantRequestContext> {
        let router = Router(context: TenantRequestContext.self)
        router.middlewares.add(RequestIDMiddleware())
        router.middlewares.add(SecurityHeadersMiddleware())
        router.middlewares.add(ErrorResponseMiddleware(metrics: metrics))
        router.middlewares.add(CORSPolicyMiddleware(allowedOrigins: Set(configuration.corsOrigins), publicURL: configuration.publicURL))
        router.middlewares.add(RateLimitMiddleware(redis: dependencies.redis, limitPerMinute: configuration.rateLimitPerMinute))
        OperationsRoutes(pool: dependencies.pool, redis: dependencies.redis, metrics: metrics,
                         memoryPlugin: dependencies.memoryPlugin).register(on: router)
        WorkspaceRoutes(dependencies: dependencies).register(on: router)
        TokenRoutes(dependencies: dependencies).register(on: router)
        RegistryRoutes(dependencies: dependencies).register(on: router)
        DiscoveryRoutes(dependencies: dependencies, directory: PeerDirectory(pool: dependencies.pool)).register(on: router)
        ActivityRoutes(dependencies: dependencies).register(on: router)
        MemoryRoutes(dependencies: dependencies).register(on: router)
        MCPRoutes(dependencies: dependencies).register(on: router)
        SecretRoutes(dependencies: dependencies, key: configuration.secretsEncryptionKey).register(on: router)
        EventStreamRoutes(dependencies: dependencies).register(on: router)
        EventSocketRoutes(dependencies: dependencies).register(on: router)
        UserMessageRoutes(dependencies: dependencies).register(on: router)
        DelegationRoutes(dependencies: dependencies, logger: Logger(label: "delegation")).register(on: router)
        A2ARoutes(dependencies: dependencies, delivery: dependencies.a2aDelivery(logger: Logger(label: "a2a")), queue: dependencies.a2aQueue).register(on: router)
        return router
    }
}
