// swift-tools-version: 6.1
// The benchmark harness of ConvoStore, a package of its own so that the library's users never build
// its dependencies (GRDB, package-benchmark, HdrHistogram).
import PackageDescription

let package = Package(
    name: "ConvoStoreBenchmarks",
    platforms: [.macOS(.v15)],  // Synchronization.Atomic
    dependencies: [
        .package(name: "ConvoStore", path: "../"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        // The store's own metrics dependency: the server mode reads its group-commit batch sizes.
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    ],
    targets: [
        // The system RocksDB (Debian: librocksdb-dev), for the load harness's `rocksdb` engine only.
        // The module map links librocksdb, so the build needs no pkg-config file (Debian ships one).
        .systemLibrary(
            name: "CRocksDB",
            pkgConfig: "rocksdb",
            providers: [.apt(["librocksdb-dev"])]
        ),
        // The load harness: one workload replayed into ConvoStore, SQLite, raw LMDB and RocksDB. Its
        // code is a library (Sources/loadbench) so that sqliteserver can put the same SQLite engine
        // behind HTTP.
        .target(
            name: "LoadBenchKit",
            dependencies: [
                "CRocksDB",
                .product(name: "ConvoStore", package: "ConvoStore"),
                .product(name: "LMDB", package: "ConvoStore"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            path: "Sources/loadbench"
        ),
        .executableTarget(name: "loadbench", dependencies: ["LoadBenchKit"], path: "Sources/loadbench-main"),
        // `make bench-test`: the harness's own logic (the trials' order), without a store or a disk.
        .testTarget(name: "LoadBenchKitTests", dependencies: ["LoadBenchKit"], path: "Tests/LoadBenchKitTests"),
        // `convostore serve`'s webhook and conversation routes over the harness's SQLite engine, for
        // the server figures side by side (docs/server.md); a benchmark stand-in, not a product.
        .executableTarget(
            name: "sqliteserver",
            dependencies: [
                "LoadBenchKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Micro-benchmarks: `swift package benchmark` (thresholds in Thresholds/).
        .executableTarget(
            name: "StoreBenchmarks",
            dependencies: [
                .product(name: "ConvoStore", package: "ConvoStore"),
                .product(name: "LMDB", package: "ConvoStore"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/StoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
