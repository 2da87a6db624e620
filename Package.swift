// swift-tools-version:6.1
import PackageDescription

// Every Swift target builds in Swift 6 mode with these settings; warnings are
// treated as errors in CI through `-warnings-as-errors` on the command line.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "molecule-tenant",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "molecule-tenant", targets: ["molecule-tenant"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.0"),
        // No traits: the defaults pull in full Foundation (ICU, about +45 MB).
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0", traits: []),
        // Already in the graph through Hummingbird; named for its ServerQuiescingHelper.
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.0"),
        // Already in the graph through Hummingbird; named so `run` can group services.
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // GET /ws. Builds on NIOWebSocket; imports FoundationEssentials only (no ICU).
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
    ],
    targets: [
        // System libraries. libpq already links libcrypto, so OpenSSL adds no runtime dependency.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .systemLibrary(
            name: "CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CLibArchive",
            pkgConfig: "libarchive",
            providers: [.apt(["libarchive-dev"])]
        ),
        // TLS for platform calls and push-mode agents; libpq already links libssl.
        .systemLibrary(
            name: "CLibSSL",
            pkgConfig: "libssl",
            providers: [.apt(["libssl-dev"])]
        ),
        // The version marker that `release bundle --version` patches in place.
        .target(name: "CBuildInfo"),
        // glibc's mallopt, for the plugin's small-footprint allocator settings.
        .target(name: "CMallocTuning"),

        // Infrastructure: one job each, no dependency on any feature module.
        .target(
            name: "BuildInfo",
            dependencies: ["CBuildInfo"],
            swiftSettings: swiftSettings,
            plugins: ["BuildStampPlugin"]
        ),
        .target(
            name: "Timestamps",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TenantCrypto",
            dependencies: ["CLibCrypto"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TenantConfig",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TenantLogging",
            dependencies: [
                .product(name: "Logging", package: "swift-log")
            ],
            swiftSettings: swiftSettings
        ),
        // OpenSSL client connections: a blocking socket (installer) and an I/O-free
        // session an event loop drives (A2A), both verifying against the trust store.
        .target(
            name: "TLSClient",
            dependencies: ["CLibSSL"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Postgres",
            dependencies: [
                "CLibPQ",
                "Timestamps",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "RedisClient",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Migrations",
            dependencies: [
                "Postgres",
                "TenantCrypto",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings,
            plugins: ["EmbedMigrationsPlugin"]
        ),

        // Features.
        .target(
            name: "MemoryContract",
            dependencies: ["Timestamps"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Bench",
            dependencies: [
                "Postgres",
                "Migrations",
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        .target(
            name: "MemoryPlugin",
            dependencies: [
                "CMallocTuning",
                "MemoryContract",
                "Postgres",
                "Migrations",
                "TenantCrypto",
                "BuildInfo",
                "SocketHandover",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // The server's view of memory: a client for the plugin's HTTP contract, and the
        // rules (namespace access, redaction) shared by the server and backfill.
        .target(
            name: "MemoryPluginClient",
            dependencies: [
                "MemoryContract",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "MemoryAccess",
            dependencies: ["MemoryContract", "TenantCrypto"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TenantServer",
            dependencies: [
                "MemoryContract",
                "MemoryPluginClient",
                "MemoryAccess",
                "Postgres",
                "Migrations",
                "RedisClient",
                "TenantCrypto",
                "BuildInfo",
                "Timestamps",
                "SocketHandover",
                "TLSClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Serving on a listening socket that can be handed to the next release.
        .target(name: "CSocketHandover"),
        .target(
            name: "SocketHandover",
            dependencies: [
                "CSocketHandover",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // `backfill`: legacy memory tables into the plugin (DESIGN section 11).
        .target(
            name: "Backfill",
            dependencies: [
                "MemoryContract", "MemoryPluginClient", "MemoryAccess", "Postgres", "TenantCrypto", "TenantLogging", "Timestamps",
            ],
            swiftSettings: swiftSettings
        ),
        // Signed release bundles: version stamping, tarballs, Ed25519 verification.
        .target(
            name: "Releases",
            dependencies: ["CLibArchive", "TenantCrypto", "Timestamps"],
            swiftSettings: swiftSettings
        ),
        // `upgrade`: fetch, verify, preflight, hand over, health gate, rollback.
        .target(
            name: "Upgrades",
            dependencies: ["Releases", "TenantConfig", "TenantCrypto", "Timestamps"],
            swiftSettings: swiftSettings
        ),
        // `run --embedded`: a private PostgreSQL and Redis as child processes.
        .target(
            name: "EmbeddedServices",
            dependencies: [
                "Postgres",
                "TenantConfig",
                "TenantCrypto",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // Bare-host lifecycle: install steps, status, doctor, uninstall, platform calls.
        .target(
            name: "Installer",
            dependencies: ["TLSClient", "TenantConfig", "TenantCrypto", "TenantLogging", "BuildInfo", "Upgrades"],
            swiftSettings: swiftSettings
        ),

        // The command layer: parses flags and calls into the modules above.
        .target(
            name: "TenantCLI",
            dependencies: [
                "BuildInfo",
                "TenantConfig",
                "TenantLogging",
                "Postgres",
                "Migrations",
                "Bench",
                "MemoryPlugin",
                "TenantServer",
                "EmbeddedServices",
                "Backfill",
                "MemoryPluginClient",
                "TenantCrypto",
                "Installer",
                "Releases",
                "Upgrades",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "molecule-tenant",
            dependencies: ["TenantCLI"],
            swiftSettings: swiftSettings
        ),

        // Build-time tools: SQL migrations compiled into the binary, and the git stamp.
        .executableTarget(
            name: "MigrationsEmbedder",
            swiftSettings: swiftSettings
        ),
        .plugin(
            name: "EmbedMigrationsPlugin",
            capability: .buildTool(),
            dependencies: ["MigrationsEmbedder"],
            path: "Sources/EmbedMigrationsPlugin"
        ),
        .plugin(
            name: "BuildStampPlugin",
            capability: .buildTool(),
            path: "Sources/BuildStampPlugin"
        ),

        // Tests run against real PostgreSQL (and Redis) started by Tests/run.sh.
        .target(
            name: "TestSupport",
            dependencies: [
                "Postgres"
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PostgresTests",
            dependencies: ["Postgres", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MigrationsTests",
            dependencies: ["Migrations", "Postgres", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "RedisClientTests",
            dependencies: [
                "RedisClient",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MemoryContractTests",
            dependencies: ["MemoryContract"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MemoryStoreTests",
            dependencies: [
                "MemoryPlugin", "MemoryContract", "Migrations", "Postgres", "TestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MemoryPluginTests",
            dependencies: ["MemoryContract", "Postgres", "Timestamps", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MemoryPluginClientTests",
            dependencies: [
                "MemoryPluginClient", "MemoryContract", "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MemoryAccessTests",
            dependencies: ["MemoryAccess", "MemoryContract"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TenantServerTests",
            dependencies: ["TenantServer", "MemoryContract", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BackfillTests",
            dependencies: ["Backfill", "MemoryContract", "Postgres", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EmbeddedServicesTests",
            dependencies: ["EmbeddedServices", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "InstallerTests",
            dependencies: ["Installer", "TenantConfig", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ReleasesTests",
            dependencies: ["Releases", "Upgrades", "SocketHandover", "TenantCrypto", "TestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FoundationTests",
            dependencies: ["TenantConfig", "TenantLogging", "TenantCrypto", "BuildInfo", "TestSupport"],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
