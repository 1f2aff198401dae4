// swift-tools-version: 6.1
// libFuzzer targets of ConvoStore, a package of its own: every module (ConvoStore included) is built
// with `-sanitize=fuzzer,address`, which the library's users never want. Build and run with
// `scripts/fuzz.sh SECONDS`; seeds are in Corpus/<target>/.
import PackageDescription

let package = Package(
    name: "ConvoStoreFuzz",
    dependencies: [
        .package(name: "ConvoStore", path: "../"),
    ],
    targets: [
        // Declares libFuzzer's LLVMFuzzerRunDriver for the targets' main.swift.
        .target(name: "CFuzzerDriver"),
        // One native dump line (NativeDump.parse): JSON, field checks, limits.
        .executableTarget(
            name: "fuzz-native-line",
            dependencies: ["CFuzzerDriver", .product(name: "ConvoStore", package: "ConvoStore")]
        ),
        // One webhook delivery line (WebhookArchive.parse).
        .executableTarget(
            name: "fuzz-webhook-line",
            dependencies: ["CFuzzerDriver", .product(name: "ConvoStore", package: "ConvoStore")]
        ),
        // The command line's time arguments (Timestamp.parseArgument) and ids (Limits), with their
        // invariants: a time formats back to itself, an accepted id keeps its limit and its key.
        .executableTarget(
            name: "fuzz-arguments",
            dependencies: ["CFuzzerDriver", .product(name: "ConvoStore", package: "ConvoStore")]
        ),
        // Bytes decoded as every stored record and key type, as a damaged data file would hand them.
        .executableTarget(
            name: "fuzz-records",
            dependencies: ["CFuzzerDriver", .product(name: "ConvoStore", package: "ConvoStore")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
