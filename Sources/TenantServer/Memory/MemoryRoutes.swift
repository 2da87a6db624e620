import Hummingbird

/// Every HTTP memory surface, registered together. All of them reach memory only
/// through the plugin client (DESIGN section 1).
struct MemoryRoutes: Sendable {
    let dependencies: ServerDependencies

    func register(on router: Router<TenantRequestContext>) {
        let memory = WorkspaceMemory(plugin: dependencies.memoryPlugin, pool: dependencies.pool)
        let authenticator = dependencies.authenticator
        LegacyMemoryRoutes(memory: memory, authenticator: authenticator).register(on: router)
        MemoryV2Routes(memory: memory, authenticator: authenticator).register(on: router)
        KeyValueRoutes(memory: memory, authenticator: authenticator).register(on: router)
        SessionSearchRoutes(memory: memory, authenticator: authenticator, pool: dependencies.pool).register(on: router)
        AdminMemoryRoutes(memory: memory, authenticator: authenticator, pool: dependencies.pool).register(on: router)
    }
}
