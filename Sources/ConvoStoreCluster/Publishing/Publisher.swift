import ConvoStore
import Foundation

/// What a publish run did. Lines read = published + skipped + rejected.
public struct PublishSummary: Sendable, Hashable {
    /// Lines read.
    public var lines = 0
    /// Lines published (a webhook delivery touching two partitions counts once here).
    public var published = 0
    /// Messages put on the streams (one per partition a line went to).
    public var messages = 0
    /// Blank lines, dump headers, deliveries that record nothing.
    public var skipped = 0
    /// Lines kept aside.
    public var rejected = 0
    /// Messages per partition.
    public var perPartition: [Int] = []
}

/// A line kept aside, and why: `file:line: reason`.
public struct RejectedLine: Sendable {
    /// The input's name as given.
    public var file: String
    /// The 1-based line number.
    public var line: Int
    /// The reason.
    public var reason: String
    /// The line, unchanged.
    public var bytes: [UInt8]
}

/// Publishes input files (native dumps or webhook archives) to the partitions' streams: each line routed
/// by ``LineRouter``, published asynchronously with its message id, and the run ends only once JetStream
/// acknowledged every publish (a quorum of each stream's servers holds it).
public final class Publisher {
    private let js: JetStream
    private var router: LineRouter
    private var summary: PublishSummary
    /// Longest line read (the importer's limit).
    public static let maxLineBytes = 1 << 20

    /// A publisher for the cluster `config` through `js`.
    public init(js: JetStream, config: ClusterConfig) {
        self.js = js
        self.router = LineRouter(partitioner: config.partitioner)
        self.summary = PublishSummary(perPartition: Array(repeating: 0, count: config.partitions))
    }

    /// Publishes the lines of `path` (`-`: standard input); `rejected` is told of each line kept aside.
    public func publish(file path: String, format: LineFormat, rejected: (RejectedLine) throws -> Void) throws {
        guard let stream = fopen(path == "-" ? "/dev/stdin" : path, "rb") else {
            throw ClusterError.invalid("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { fclose(stream) }
        var buffer: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(buffer) }
        var number = 0
        while true {
            let length = getline(&buffer, &capacity, stream)
            if length < 0 { break }
            number += 1
            self.summary.lines += 1
            var count = length
            if count > 0 && buffer![count - 1] == 0x0A { count -= 1 }
            let line = buffer!.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
            if count > Self.maxLineBytes {
                self.summary.rejected += 1
                try rejected(RejectedLine(file: path, line: number, reason: "line of \(count) bytes is over the 1 MiB limit", bytes: line))
                continue
            }
            switch self.router.route(line, format: format, lineNumber: number) {
            case .skip:
                self.summary.skipped += 1
            case .reject(let reason):
                self.summary.rejected += 1
                try rejected(RejectedLine(file: path, line: number, reason: reason, bytes: line))
            case .publish(let targets):
                for target in targets {
                    try self.js.publishAsync(ClusterLayout.subject(target.partition), line, msgID: target.msgID,
                                             headers: target.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
                    self.summary.messages += 1
                    self.summary.perPartition[target.partition] += 1
                }
                self.summary.published += 1
            }
        }
        if ferror(stream) != 0 { throw ClusterError.invalid("reading \(path): \(String(cString: strerror(errno)))") }
    }

    /// Waits until JetStream acknowledged every publish: what is still unacknowledged after a while
    /// (a stream electing a leader, a server restarting) is published again with its message id, so it
    /// lands once. Fails if JetStream refused any.
    public func finish(timeoutMillis: Int64 = 120_000) throws -> PublishSummary {
        let deadline = ContinuousClock.now + .milliseconds(timeoutMillis)
        while true {
            let (unacknowledged, failures) = try self.js.waitForAsyncPublishes(timeoutMillis: 10_000)
            if let first = failures.first {
                throw ClusterError.invalid("JetStream refused \(failures.count) publish(es), the first \(first.msgID): \(first.reason)")
            }
            if unacknowledged.isEmpty { return self.summary }
            guard ContinuousClock.now < deadline else {
                throw ClusterError.invalid("\(unacknowledged.count) publishes still unacknowledged after \(timeoutMillis / 1000) s: is a quorum of the servers up?")
            }
            for message in unacknowledged { try self.republishUntilAcknowledged(message, deadline: deadline) }
        }
    }

    private func republishUntilAcknowledged(_ message: NATSMessage, deadline: ContinuousClock.Instant) throws {
        while true {
            let attempt = Result { () throws(NATSError) in try self.js.republish(message) }
            guard case .failure(let error) = attempt else { return }
            // No answer in time (a leader election, a server restarting): again, until the deadline.
            guard error.isTimeout || error.isNoResponders, ContinuousClock.now < deadline else { throw error }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }
}
