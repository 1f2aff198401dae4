import ArgumentParser
import ConvoStore
import ConvoStoreCluster
import Dispatch
import Foundation
import Logging

// publish, node, cluster: the partitioned cluster over NATS JetStream (docs/cluster.md).

/// `--nats URLS`: the NATS servers, comma-separated.
struct NATSOption: ParsableArguments {
    @Option(name: .customLong("nats"), help: "The NATS servers, comma-separated (nats://127.0.0.1:4222,...).")
    var nats: String

    var urls: [String] { self.nats.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty } }

    /// Runs `body`; a NATS or cluster failure is one `error:` line and exit 2 (the cluster could not be used).
    func run<T>(_ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as NATSError {
            printError("error: \(error)")
            throw Exit.usage
        } catch let error as ClusterError {
            printError("error: \(error)")
            if case .noCluster = error { throw Exit.usage }
            throw Exit.problem
        }
    }
}

struct Publish: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publishes dumps or webhook archives to the cluster's partitions (each line once, by its message id).",
        discussion: """
            Each line goes to the partition of its conversation; a native status line is routed by its optional \
            "customer" field, else by the message it is about, published earlier in the run. A line that cannot be \
            parsed or routed is kept aside (<file>.rejects) with file:line: reason on stderr, and the exit status is 1. \
            Returns once JetStream acknowledged every publish.
            """)
    @OptionGroup var server: NATSOption
    @Option(help: "native or webhook.") var format = "native"
    @Option(help: "Where rejected lines go (default <file>.rejects; - for stdin is stdin.rejects).") var rejects: String?
    @Argument(help: "Files (- is stdin).") var files: [String]

    func run() throws {
        guard let format = LineFormat(rawValue: self.format) else { throw ValidationError("--format \(self.format): native or webhook") }
        let started = ContinuousClock.now
        let summary = try self.server.run { () throws -> PublishSummary in
            let connection = try NATSConnection(urls: self.server.urls, name: "convostore-publish")
            let js = try connection.jetStream()
            let publisher = Publisher(js: js, config: try ClusterSetup.read(from: js))
            for file in self.files {
                var rejectsFile: UnsafeMutablePointer<FILE>?
                defer { if let rejectsFile { fclose(rejectsFile) } }
                try publisher.publish(file: file, format: format) { rejected in
                    printError("\(Display.safe(rejected.file)):\(rejected.line): \(rejected.reason)")
                    if rejectsFile == nil {
                        let path = self.rejects ?? (file == "-" ? "stdin" : file) + ".rejects"
                        guard let opened = fopen(path, "ab") else { throw ClusterError.invalid("cannot open \(path): \(String(cString: strerror(errno)))") }
                        rejectsFile = opened
                    }
                    _ = rejected.bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, rejectsFile) }
                    fputc(0x0A, rejectsFile)
                }
            }
            return try publisher.finish()
        }
        let seconds = Double((ContinuousClock.now - started).components.attoseconds) / 1e18 + Double((ContinuousClock.now - started).components.seconds)
        var out = Output()
        try out.line("published \(summary.published) lines as \(summary.messages) messages (\(summary.skipped) skipped, \(summary.rejected) rejected) of \(summary.lines) read in \(String(format: "%.1f", seconds)) s, \(Int(Double(summary.lines) / max(seconds, 0.001))) lines/s")
        try out.flush()
        if summary.rejected > 0 { throw Exit.problem }
    }
}

struct NodeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "node",
        abstract: "Runs a store node: takes partition leases, records each partition's stream exactly once into DIR/partitions/<p>/.",
        discussion: "SIGTERM or SIGINT stops it: workers finish their batch, leases are released for the other nodes.")
    @OptionGroup var server: NATSOption
    @Option(name: .customLong("data"), help: "The node's directory (stores under DIR/partitions/<p>/).") var data: String
    @Option(help: "The node's name, unique in the cluster.") var name: String
    @Option(name: .customLong("batch"), help: "Messages per fetch and per transaction.") var batch = 1_000
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error.") var logLevel = "info"

    func run() throws {
        guard self.batch > 0 else { throw ValidationError("--batch: at least 1") }
        var options = NodeOptions(urls: self.server.urls, name: self.name, dataDirectory: self.data)
        options.batchSize = self.batch
        if let crash = ProcessInfo.processInfo.environment["CONVOSTORE_NODE_CRASH"] {
            guard let point = CrashPoint(crash) else { throw ValidationError("CONVOSTORE_NODE_CRASH=\(crash): after-commit:N or during-batch:N") }
            options.crashPoint = point
        }
        var logger = Logger(label: "convostore.node") { StreamLogHandler.standardError(label: $0) }
        logger.logLevel = Logger.Level(rawValue: self.logLevel) ?? .info
        let node = Node(options: options, logger: logger)
        stopOnTerminationSignals { node.requestStop() }
        try self.server.run { try node.run() }
    }
}

/// Calls `stop` on the first SIGTERM or SIGINT. Both are blocked in this thread before any other
/// thread exists, so every thread the node starts inherits the block, and one thread takes them with
/// `sigwait`. A dispatch signal source is not enough: it blocks the signal in one thread only, and
/// another thread that does not block it could take the signal first and drop it (its action being
/// to ignore it): a node with many partitions, so many threads, then sometimes did not stop.
private func stopOnTerminationSignals(_ stop: @escaping @Sendable () -> Void) {
    var signals = sigset_t()
    sigemptyset(&signals)
    sigaddset(&signals, SIGTERM)
    sigaddset(&signals, SIGINT)
    pthread_sigmask(SIG_BLOCK, &signals, nil)
    let blocked = signals
    let waiter = Thread {
        var set = blocked
        var received: Int32 = 0
        while sigwait(&set, &received) != 0 {}
        stop()
    }
    waiter.name = "signals"
    waiter.start()
}

struct ClusterCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "The partitioned cluster: create it, see its partitions, and the single-store queries over all of them.",
        subcommands: [ClusterCreate.self, ClusterStatus.self, ClusterOverdue.self, ClusterNewlyOverdue.self, ClusterWindows.self, ClusterBilling.self])
}

struct ClusterCreate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Creates the streams and buckets of a cluster of P partitions (once; the same again is a no-op).")
    @OptionGroup var server: NATSOption
    @Option(help: "P, fixed for the cluster's life.") var partitions = 12
    @Option(help: "Copies of each stream and bucket.") var replicas = 3
    @Option(name: .customLong("lease-seconds"), help: "How long a node's lease lives without renewal.") var leaseSeconds = 10

    func run() throws {
        let config = try self.server.run { () throws -> ClusterConfig in
            let connection = try NATSConnection(urls: self.server.urls, name: "convostore-cluster-create")
            return try ClusterSetup.create(ClusterConfig(partitions: self.partitions, replicas: self.replicas, leaseMillis: Int64(self.leaseSeconds) * 1_000), on: try connection.jetStream())
        }
        var out = Output()
        try out.line("cluster: \(config.partitions) partitions, \(config.replicas) replicas, leases of \(config.leaseMillis / 1_000) s")
        try out.flush()
    }
}

struct ClusterStatus: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "Each partition's owner, applied position and stream's last sequence.")
    @OptionGroup var server: NATSOption
    @Flag(help: "JSON Lines output.") var json = false

    func run() throws {
        let statuses = try self.server.run { try ClusterClient(urls: self.server.urls).status() }
        var out = Output()
        if self.json {
            for s in statuses { try out.line(String(decoding: try JSONEncoder().encode(s), as: UTF8.self)) }
            try out.flush()
        } else {
            var table = TableWriter(["PARTITION", "NODE", "POSITION", "STREAM LAST", "MESSAGES", "CONVERSATIONS"], output: out)
            for s in statuses { try table.row([String(s.partition), Display.safe(s.node), String(s.position), String(s.streamLastSequence), String(s.messages), String(s.conversations)]) }
            try table.finish()
        }
    }
}

/// Prints merged scan lines: as they are with `--json`, else as the single-store command's table.
private func printMerged(_ lines: [String], json: Bool, columns: KeyValuePairs<String, String>) throws {
    var out = Output()
    if json {
        for line in lines { try out.line(line) }
        try out.flush()
        return
    }
    var table = TableWriter(columns.map(\.key), output: out)
    for line in lines {
        let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]) ?? [:]
        try table.row(columns.map { _, field in
            if let text = object[field] as? String { return text }  // the table makes cells safe to print
            return rfc3339((object[field] as? NSNumber)?.int64Value)
        })
    }
    try table.finish()
}

struct ClusterOverdue: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "overdue", abstract: "Conversations overdue at a time (R2), over every partition.")
    @OptionGroup var server: NATSOption
    @Option(name: .customLong("as-of"), help: "The time.", transform: Time.parse) var asOf: Time
    @Option(help: "Only this business.") var business: String?
    @Option(help: "At most N conversations.") var limit: Int?
    @Flag(help: "JSON Lines output.") var json = false

    func run() throws {
        try checkLimit(self.limit)
        let lines = try self.server.run { try ClusterClient(urls: self.server.urls).overdue(asOf: self.asOf.millis, business: self.business, limit: self.limit) }
        try printMerged(lines, json: self.json, columns: ScanColumns.waiting)
    }
}

struct ClusterNewlyOverdue: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "newly-overdue", abstract: "Conversations whose reply fell due in (T1, T2], over every partition.")
    @OptionGroup var server: NATSOption
    @Option(help: "T1 (exclusive).", transform: Time.parse) var after: Time
    @Option(help: "T2 (inclusive).", transform: Time.parse) var until: Time
    @Option(help: "At most N conversations.") var limit: Int?
    @Flag(help: "JSON Lines output.") var json = false

    func run() throws {
        try checkLimit(self.limit)
        let lines = try self.server.run { try ClusterClient(urls: self.server.urls).newlyOverdue(after: self.after.millis, until: self.until.millis, limit: self.limit) }
        try printMerged(lines, json: self.json, columns: ScanColumns.waiting)
    }
}

struct ClusterWindows: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "windows", abstract: "Windows closing in [T1, T2), over every partition.")
    @OptionGroup var server: NATSOption
    @Option(help: "T1 (inclusive).", transform: Time.parse) var from: Time
    @Option(help: "T2 (exclusive).", transform: Time.parse) var to: Time
    @Option(help: "Only this business.") var business: String?
    @Option(help: "At most N conversations.") var limit: Int?
    @Flag(help: "JSON Lines output.") var json = false

    func run() throws {
        try checkLimit(self.limit)
        let lines = try self.server.run { try ClusterClient(urls: self.server.urls).windows(from: self.from.millis, to: self.to.millis, business: self.business, limit: self.limit) }
        try printMerged(lines, json: self.json, columns: ScanColumns.windows)
    }
}

struct ClusterBilling: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "billing", abstract: "A business's charges and violations in [T1, T2), over every partition (JSON).")
    @OptionGroup var server: NATSOption
    @Option(help: "The business.") var business: String
    @Option(help: "T1 (inclusive; default the beginning).", transform: Time.parse) var from: Time?
    @Option(help: "T2 (exclusive; default no end).", transform: Time.parse) var to: Time?
    @Flag(help: "JSON output (the only output of the cluster's billing).") var json = false

    func run() throws {
        let line = try self.server.run { try ClusterClient(urls: self.server.urls).billing(business: self.business, from: self.from?.millis, to: self.to?.millis) }
        var out = Output()
        try out.line(line)
        try out.flush()
    }
}
