import ConvoStore
import Foundation
import Logging
import Synchronization

/// How a node runs.
public struct NodeOptions: Sendable {
    /// The NATS servers.
    public var urls: [String]
    /// The node's name, unique in the cluster (the leases' value).
    public var name: String
    /// Where its stores live: `<data>/partitions/<p>/`.
    public var dataDirectory: String
    /// Messages fetched and applied per transaction.
    public var batchSize = 1_000
    /// How long JetStream waits for an acknowledgement before delivering a message again.
    public var ackWaitMillis: Int64 = 30_000
    /// A test's crash point (`CONVOSTORE_NODE_CRASH`), never set in production.
    public var crashPoint: CrashPoint?

    /// Options for node `name` storing under `dataDirectory`.
    public init(urls: [String], name: String, dataDirectory: String) {
        self.urls = urls
        self.name = name
        self.dataDirectory = dataDirectory
    }

    /// The store directory of partition `p`.
    public func partitionDirectory(_ p: Int) -> String { "\(self.dataDirectory)/partitions/\(p)" }
}

/// What a node applied since it started.
final class NodeCounters: Sendable {
    private let counts = Mutex((applied: 0, redelivered: 0, rejected: 0))

    func add(_ outcome: BatchOutcome) {
        self.counts.withLock { $0.applied += outcome.applied; $0.redelivered += outcome.redelivered; $0.rejected += outcome.rejected.count }
    }

    var snapshot: (applied: Int, redelivered: Int, rejected: Int) { self.counts.withLock { $0 } }
}

/// A store node: holds leases on a fair share of the partitions, runs a ``PartitionWorker`` for each, takes
/// over partitions whose lease expired (a dead node's), and gives partitions back when more nodes join.
///
/// Its loop, every third of the lease time: write its own liveness key, renew its leases (a lease it
/// cannot renew in time stops its worker before the lease can expire on the server), count the live
/// nodes, then take free partitions up to its share (ceil(P / live nodes)), in the order of a
/// rendezvous hash of (node, partition), so a node prefers the same partitions every time; or release
/// one when it holds more than its share.
public final class Node: Sendable {
    private let options: NodeOptions
    private let logger: Logger
    private let stopRequested = Atomic<Bool>(false)
    private let counters = NodeCounters()

    /// A node with these options.
    public init(options: NodeOptions, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Asks ``run()`` to stop (from a signal handler's queue): workers stop, leases are released.
    public func requestStop() { self.stopRequested.store(true, ordering: .releasing) }

    /// Runs until ``requestStop()``.
    public func run() throws {
        let connection = try NATSConnection(urls: self.options.urls, name: "convostore-node-\(self.options.name)")
        let js = try connection.jetStream()
        let config = try ClusterSetup.read(from: js)
        // The loop's key-value calls wait at most a third of a lease: a slow answer (a stream electing its
        // leader after a server died) then costs one round, never the leases the round must renew.
        let kv = try connection.jetStream(waitMillis: max(250, config.leaseMillis / 3))
        let leases = LeaseBook(bucket: try kv.existingKeyValue(bucket: ClusterLayout.leaseBucket), node: self.options.name, ttlMillis: config.leaseMillis)
        let liveness = try kv.existingKeyValue(bucket: ClusterLayout.nodeBucket)
        var lastLive = 1
        let tick = Duration.milliseconds(config.leaseMillis / 3)
        let preference = (0..<config.partitions).sorted { a, b in self.rank(a) > self.rank(b) }
        var workers: [Int: PartitionWorker] = [:]
        self.logger.info("node \(self.options.name): \(config.partitions) partitions, leases of \(config.leaseMillis) ms, data in \(self.options.dataDirectory)")

        var firstRound = true
        while !self.stopRequested.load(ordering: .acquiring) {
            do {
                // Renew first: a lease about to lapse matters more than a new one.
                for (p, worker) in workers {
                    var lost = false
                    do {
                        if let renewed = try leases.renew(worker.currentLease) { worker.renewed(renewed) } else { lost = true }
                    } catch {
                        // The servers did not answer: keep going while the lease is surely still ours.
                        lost = !worker.currentLease.isValid
                        self.logger.warning("partition \(p): renewing the lease: \(error)")
                    }
                    if lost {
                        self.logger.warning("partition \(p): lease lost; its worker stops")
                        worker.stop()
                        workers[p] = nil
                    }
                }
                do {
                    _ = try liveness.put(self.options.name, Array("alive".utf8))
                } catch {
                    self.logger.warning("node \(self.options.name): saying it is alive: \(error)")
                }
                // Wait one round at start, so nodes started together see each other before they share out.
                if !firstRound {
                    let live: Int
                    do {
                        live = max(1, try liveness.keys().count)
                        lastLive = live
                    } catch {
                        live = lastLive  // the last count: a slow answer must not stop the sharing out
                        self.logger.warning("node \(self.options.name): counting the live nodes: \(error)")
                    }
                    let share = (config.partitions + live - 1) / live
                    if workers.count < share {
                        // At most a round's time of taking: the leases already held are renewed first
                        // in the next round, before they can lapse (opening a store and a consumer
                        // takes a while; a node taking 12 partitions at once outlasted 5 s leases).
                        let roundEnds = ContinuousClock.now + tick
                        for p in preference where workers[p] == nil && workers.count < share && ContinuousClock.now < roundEnds {
                            guard let lease = try leases.acquire(p) else { continue }
                            let worker = try PartitionWorker(partition: p, lease: lease, js: js, options: self.options, counters: self.counters, logger: self.logger)
                            try worker.start()
                            workers[p] = worker
                            self.logger.info("partition \(p): lease taken by \(self.options.name)")
                        }
                    } else if workers.count > share, let p = preference.last(where: { workers[$0] != nil }), let worker = workers[p] {
                        worker.stop()
                        try leases.release(worker.currentLease)
                        workers[p] = nil
                        self.logger.info("partition \(p): released (\(workers.count + 1) held, share \(share) of \(live) nodes)")
                    }
                }
                firstRound = false
            } catch {
                self.logger.error("node \(self.options.name): \(error)")
            }
            self.sleep(tick)
        }
        for (_, worker) in workers {
            worker.stop()
            try? leases.release(worker.currentLease)
        }
        try? liveness.delete(self.options.name)
        let counts = self.counters.snapshot
        self.logger.info("node \(self.options.name): stopped; applied \(counts.applied), skipped \(counts.redelivered) redelivered, \(counts.rejected) not recorded")
        try? connection.flush()
        connection.close()
    }

    /// The rendezvous rank of partition `p` for this node.
    private func rank(_ p: Int) -> UInt64 {
        FNV1a64.hash(Array("\(self.options.name)/\(p)".utf8))
    }

    private func sleep(_ duration: Duration) {
        let end = ContinuousClock.now + duration
        while ContinuousClock.now < end && !self.stopRequested.load(ordering: .acquiring) {
            Thread.sleep(forTimeInterval: 0.05)
        }
    }
}
