// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "ConvoStore",
    products: [
        .library(name: "LMDB", targets: ["LMDB"]),
        .library(name: "ConvoStore", targets: ["ConvoStore"]),
        .executable(name: "convostore", targets: ["convostore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
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
            ],
            exclude: ["README.md"]
        ),
        .executableTarget(
            name: "convostore",
            dependencies: [
                "ConvoStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB", "TestSupport"]),
        .testTarget(name: "ConvoStoreTests", dependencies: ["ConvoStore", "LMDB", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "convostoreTests", dependencies: ["ConvoStore", "TestSupport"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
