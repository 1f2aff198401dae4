import ConvoStore
import Foundation
import Logging
import Synchronization

/// Points where a test makes a node die (``NodeOptions/crashPoint``), as a power cut or `kill -9` would.
public enum CrashPoint: Sendable, Hashable {
    /// After the `n`th batch's transaction committed, before any of its messages is acknowledged.
    case afterCommit(batch: Int)
    /// Inside the `n`th batch's transaction, after its events were written, before the commit.
    case duringBatch(batch: Int)

    /// Reads `after-commit:N` or `during-batch:N` (the `CONVOSTORE_NODE_CRASH` variable).
    public init?(_ text: String) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let n = Int(parts[1]), n > 0 else { return nil }
        switch parts[0] {
        case "after-commit": self = .afterCommit(batch: n)
        case "during-batch": self = .duringBatch(batch: n)
        default: return nil
        }
    }
}

/// Consumes one partition while its node holds the lease: fetches batches from the partition's durable
/// pull consumer, applies each in one transaction with its end sequence (``BatchApplier``), then
/// acknowledges it; and answers the partition's queries. Two threads, stopped by ``stop()``.
final class PartitionWorker: Sendable {
    let partition: Int
    private let store: ConvoStore
    private let js: JetStream
    private let options: NodeOptions
    private let lease: Mutex<Lease>
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchGroup()
    private let logger: Logger
    private let counters: NodeCounters
    /// The last sequence applied to the store.
    private let applied = Atomic<UInt64>(0)
    /// The stream's last sequence when the node took the partition: it answers queries only once it has
    /// applied that much, so an answer never goes back behind one the previous owner could have given.
    private let readyAt = Atomic<UInt64>(0)

    /// Opens (or creates: a rebuild) the partition's store and starts consuming from its position.
    init(partition: Int, lease: Lease, js: JetStream, options: NodeOptions, counters: NodeCounters, logger: Logger) throws {
        self.partition = partition
        self.js = js
        self.options = options
        self.lease = Mutex(lease)
        self.logger = logger
        self.counters = counters
        let path = options.partitionDirectory(partition)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        self.store = try ConvoStore.open(at: path)
    }

    /// Starts the two threads.
    func start() throws {
        self.readyAt.store(try self.js.streamState(ClusterLayout.stream(self.partition)).lastSequence, ordering: .releasing)
        let (subscription, position) = try self.subscribeAfterTheStoresPosition()
        self.applied.store(position, ordering: .releasing)
        let queries = try self.js.connection.subscribe(ClusterLayout.querySubject(self.partition))
        self.logger.info("partition \(self.partition): consuming from sequence \(position + 1)\(position == 0 ? " (store empty: replaying the stream from its start)" : "")")
        self.spawn("consume") { self.consume(subscription) }
        self.spawn("queries") { self.answer(queries) }
    }

    /// The partition's consumer, (re)created to deliver from the sequence after the store's position.
    private func subscribeAfterTheStoresPosition() throws -> (NATSSubscription, UInt64) {
        let position = try self.store.read { try $0.logPosition(of: ClusterLayout.logName(self.partition)) } ?? 0
        let subscription = try self.js.pullConsumer(
            stream: ClusterLayout.stream(self.partition), subject: ClusterLayout.subject(self.partition),
            durable: ClusterLayout.consumer(self.partition), startSequence: position + 1,
            ackWaitMillis: self.options.ackWaitMillis, maxAckPending: self.options.batchSize * 4)
        return (subscription, position)
    }

    /// The renewed lease.
    func renewed(_ lease: Lease) { self.lease.withLock { $0 = lease } }

    /// The lease it runs under.
    var currentLease: Lease { self.lease.withLock { $0 } }

    private var mayAct: Bool { !self.isStopping && self.currentLease.isValid }

    private var isStopping: Bool { self.stopping.load(ordering: .acquiring) }

    /// Waits (a tenth of a second) when the lease lapsed without being lost: the node's loop was late
    /// renewing it (a slow round, a loaded machine). The threads neither act nor end: once the lease is
    /// renewed they go on; if it is lost, the node stops them.
    private func waitingForTheLease() -> Bool {
        guard !self.currentLease.isValid else { return false }
        Thread.sleep(forTimeInterval: 0.1)
        return true
    }

    /// Stops both threads, waits for them, and closes the store.
    func stop() {
        self.stopping.store(true, ordering: .releasing)
        self.finished.wait()
        self.store.close()
    }

    private func spawn(_ name: String, _ body: @escaping @Sendable () -> Void) {
        self.finished.enter()
        let thread = Thread { [finished] in
            body()
            finished.leave()
        }
        thread.name = "partition-\(self.partition)-\(name)"
        thread.start()
    }

    // MARK: Consuming

    /// The store's position is a high-water mark: it is right only if the batches come in stream order
    /// without a hole. A pull consumer delivers past messages it is still waiting to see acknowledged,
    /// so whenever a fetched batch is not applied (an error, the lease lapsing) or a batch does not
    /// continue the position (the applier stops at the hole), the consumer is created again from the
    /// store's position: never past a message the store has not applied.
    private func consume(_ first: NATSSubscription) {
        let applier = BatchApplier(log: ClusterLayout.logName(self.partition))
        var subscription = first
        var rewind = false
        var batches = 0
        while !self.isStopping {
            if self.waitingForTheLease() { continue }
            do {
                if rewind {
                    try? subscription.unsubscribe()
                    let (again, position) = try self.subscribeAfterTheStoresPosition()
                    subscription = again
                    rewind = false
                    self.logger.info("partition \(self.partition): consuming again from sequence \(position + 1)")
                }
                let messages = try subscription.fetch(batch: self.options.batchSize, timeoutMillis: 1_000)
                guard !messages.isEmpty else { continue }
                guard self.mayAct else {
                    rewind = true
                    continue
                }
                let entries = try messages.map { message throws(NATSError) in
                    StreamEntry(sequence: try message.streamSequence(), payload: message.data,
                                format: message.header(ClusterLayout.formatHeader).flatMap(LineFormat.init(rawValue:)) ?? .native,
                                items: message.header(ClusterLayout.itemsHeader).map { $0.split(separator: ",").compactMap { Int($0) } })
                }
                batches += 1
                let crash = self.options.crashPoint
                let outcome = try applier.apply(entries, to: self.store) {
                    if crash == .duringBatch(batch: batches) { Self.die("during batch \(batches)") }
                }
                if crash == .afterCommit(batch: batches) { Self.die("after the commit of batch \(batches)") }
                self.applied.store(outcome.position, ordering: .releasing)
                let applied = zip(messages, entries).filter { $0.1.sequence <= outcome.position }.map(\.0)
                for message in applied.dropLast() { try message.acknowledgeAsync() }
                try applied.last?.acknowledge()
                if let missing = outcome.missing {
                    self.logger.warning("partition \(self.partition): sequence \(missing) did not come before later ones; consuming again after \(outcome.position)")
                    rewind = true
                }
                self.counters.add(outcome)
                for (sequence, reason) in outcome.rejected {
                    self.logger.warning("partition \(self.partition): sequence \(sequence) not recorded: \(reason)")
                }
            } catch {
                self.logger.error("partition \(self.partition): \(error); retrying in 1 s")
                Thread.sleep(forTimeInterval: 1)
                rewind = true
            }
        }
        try? subscription.unsubscribe()
    }

    /// A crash point: the process dies at once, as with `kill -9` (no cleanup, no acknowledgement).
    private static func die(_ point: String) -> Never {
        FileHandle.standardError.write(Data("convostore node: crash point reached \(point): SIGKILL\n".utf8))
        kill(getpid(), SIGKILL)
        fatalError("SIGKILL did not stop the process")
    }

    // MARK: Queries

    private func answer(_ subscription: NATSSubscription) {
        let responder = QueryResponder(partition: self.partition, node: self.options.name, store: self.store,
                                       log: ClusterLayout.logName(self.partition)) { [js, partition] in
            (try? js.streamState(ClusterLayout.stream(partition)).lastSequence) ?? 0
        }
        // Requests are read even while the lease is in doubt: each is answered at once, with "moved"
        // when this node may not answer for the partition, so that the client asks again instead of
        // waiting out its timeout.
        while !self.isStopping {
            do {
                guard let request = try subscription.next(timeoutMillis: 250), let reply = request.reply else { continue }
                let chunks: [[UInt8]]
                if self.mayAct {
                    let (applied, readyAt) = (self.applied.load(ordering: .acquiring), self.readyAt.load(ordering: .acquiring))
                    chunks = responder.answer(request.data, catchingUp: applied < readyAt
                        ? "catching up after taking the partition over: applied up to sequence \(applied) of the \(readyAt) its stream had reached then" : nil)
                } else {
                    chunks = QueryResponder.notReady(node: self.options.name, "not the partition's owner now")
                }
                for chunk in chunks { try self.js.connection.publish(reply, chunk) }
            } catch {
                self.logger.error("partition \(self.partition): answering a query: \(error)")
            }
        }
        // Nobody answers for a partition this node no longer holds.
        try? subscription.unsubscribe()
    }
}
