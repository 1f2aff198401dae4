// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "ConvoStore",
    products: [
        .library(name: "LMDB", targets: ["LMDB"]),
        .library(name: "ConvoStore", targets: ["ConvoStore"]),
        .library(name: "ConvoStoreCluster", targets: ["ConvoStoreCluster"]),
        .executable(name: "convostore", targets: ["convostore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        // The server (ConvoStoreServer) only: the library's own list stays LMDB, swift-log, swift-metrics.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // The server's tests only: a real HTTP client.
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    ],
    targets: [
        // The system LMDB (Debian: liblmdb-dev). Only the LMDB module imports it.
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        .target(name: "LMDB", dependencies: ["CLMDB"]),
        .target(
            name: "ConvoStore",
            dependencies: [
                "LMDB",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            exclude: ["README.md"]
        ),
        // `convostore serve`: the webhook endpoint and query API embedding the store (Hummingbird 2).
        .target(
            name: "ConvoStoreServer",
            dependencies: [
                "ConvoStore",
                "ConvoStoreCluster",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // The NATS C client (Debian: libnats-dev). Only ConvoStoreCluster's NATS/ folder imports it.
        .systemLibrary(
            name: "CNATS",
            pkgConfig: "libnats",
            providers: [.apt(["libnats-dev"])]
        ),
        // The partitioned cluster (docs/cluster.md): publishing to JetStream, store nodes, cluster queries.
        .target(
            name: "ConvoStoreCluster",
            dependencies: [
                "ConvoStore",
                "CNATS",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "convostore",
            dependencies: [
                "ConvoStore",
                "ConvoStoreServer",
                "ConvoStoreCluster",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB", "TestSupport"]),
        .testTarget(name: "ConvoStoreTests", dependencies: ["ConvoStore", "LMDB", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "ConvoStoreServerTests",
            dependencies: [
                "ConvoStoreServer", "ConvoStore", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "ConvoStoreClusterTests",
            dependencies: ["ConvoStoreCluster", "ConvoStore", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(name: "convostoreTests", dependencies: ["ConvoStore", "TestSupport"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
