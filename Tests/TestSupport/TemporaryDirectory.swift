import Foundation

/// A fresh directory under the system's temporary directory, removed when `body` returns.
public func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async rethrows -> T {
    let path = makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// A fresh directory under the system's temporary directory, removed when `body` returns.
public func withTemporaryDirectory<T>(_ body: (String) throws -> T) rethrows -> T {
    let path = makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// Creates and returns a new, empty temporary directory; the caller removes it.
public func makeTemporaryDirectory() -> String {
    var template = Array((NSTemporaryDirectory() + "convostore-test-XXXXXX").utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(made != nil, "mkdtemp failed: \(errno)")
    return String(cString: template.withUnsafeBufferPointer { $0.baseAddress! })
}

/// The path of an executable built beside the test bundle (for example `convostore`).
public func builtProduct(_ name: String) -> URL {
    // Tests run from <build dir>/<config>/<package>PackageTests.xctest; products sit beside it.
    let bundle = Bundle.main.bundleURL
    var dir = bundle
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return bundle.deletingLastPathComponent().appendingPathComponent(name)
}
