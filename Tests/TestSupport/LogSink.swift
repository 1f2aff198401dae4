import Foundation

/// Every log line a test captured, in order, safe to append to from any thread.
///
/// TestSupport depends on nothing, so the `Logging` handler that feeds a sink lives with the
/// tests that log (`CapturingLogHandler` in `Tests/ConvoStoreTests/Support.swift`); it appends one
/// line per message, with its level, metadata and error.
public final class LogSink: @unchecked Sendable {
    // @unchecked: `lines` is only touched under `lock`, a pthread mutex that ThreadSanitizer sees.
    private let lock = NSLock()
    private var lines: [String] = []

    /// An empty sink.
    public init() {}

    /// Every line appended so far.
    public var messages: [String] { self.lock.withLock { self.lines } }

    /// Appends one captured line.
    public func append(_ line: String) { self.lock.withLock { self.lines.append(line) } }
}
