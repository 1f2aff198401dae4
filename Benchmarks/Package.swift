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
    ],
    targets: [
        // The load harness: one workload replayed into ConvoStore, SQLite and raw LMDB.
        .executableTarget(
            name: "loadbench",
            dependencies: [
                .product(name: "ConvoStore", package: "ConvoStore"),
                .product(name: "LMDB", package: "ConvoStore"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
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
