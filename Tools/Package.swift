// swift-tools-version: 6.1
// Reliability tools of ConvoStore (the crash-consistency harness), a package of its own so that the
// library's users never build them. `scripts/crash-test.sh` builds and drives them.
import PackageDescription

let package = Package(
    name: "ConvoStoreTools",
    dependencies: [
        .package(name: "ConvoStore", path: "../"),
    ],
    targets: [
        // What the writer submits and the verifier expects: deterministic ids, one pair per submit.
        .target(
            name: "CrashWorkload",
            dependencies: [.product(name: "ConvoStore", package: "ConvoStore")]
        ),
        // Submits pairs from concurrent tasks and logs each acknowledged pair, fsynced, until killed.
        .executableTarget(
            name: "crash-writer",
            dependencies: ["CrashWorkload", .product(name: "ConvoStore", package: "ConvoStore")]
        ),
        // Reopens the store after a kill: every logged pair present and whole, `check` clean.
        .executableTarget(
            name: "crash-verify",
            dependencies: ["CrashWorkload", .product(name: "ConvoStore", package: "ConvoStore")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
