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

/// The partitions a node holds, shared by its two loops.
private final class HeldPartitions: Sendable {
    private let workers = Mutex<[Int: PartitionWorker]>([:])

    var all: [Int: PartitionWorker] { self.workers.withLock { $0 } }
    var count: Int { self.workers.withLock { $0.count } }
    func holds(_ p: Int) -> Bool { self.workers.withLock { $0[p] != nil } }
    func add(_ worker: PartitionWorker) { self.workers.withLock { $0[worker.partition] = worker } }

    /// Removes `worker` if it is still partition `p`'s; whether it was (only the remover stops it).
    func remove(_ p: Int, ifIs worker: PartitionWorker) -> Bool {
        self.workers.withLock { held in
            guard held[p] === worker else { return false }
            held[p] = nil
            return true
        }
    }
}

/// A store node: holds leases on a fair share of the partitions, runs a ``PartitionWorker`` for each, takes
/// over partitions whose lease expired (a dead node's), and gives partitions back when more nodes join.
///
/// Two loops, each every third of the lease time. The renewing loop renews the leases held (a lease it
/// cannot renew in time stops its worker before the lease can expire on the server), and nothing else,
/// so that the other loop's slow calls cannot make a lease lapse. The sharing loop writes the node's
/// liveness key, counts the live nodes, then takes free partitions up to its share (ceil(P / live
/// nodes)), in the order of a rendezvous hash of (node, partition), so a node prefers the same
/// partitions every time; or releases one when it holds more than its share.
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

    /// Asks ``run()`` to stop (from any thread, such as the one that takes the signals): workers stop,
    /// leases are released.
    public func requestStop() { self.stopRequested.store(true, ordering: .releasing) }

    private var stopping: Bool { self.stopRequested.load(ordering: .acquiring) }

    /// Runs until ``requestStop()``.
    public func run() throws {
        let connection = try NATSConnection(urls: self.options.urls, name: "convostore-node-\(self.options.name)")
        let js = try connection.jetStream()
        let config = try ClusterSetup.read(from: js)
        // The loops' key-value calls wait at most a third of a lease: a slow answer (a stream electing its
        // leader after a server died) then costs one round.
        let kv = try connection.jetStream(waitMillis: max(250, config.leaseMillis / 3))
        let leases = LeaseBook(bucket: try kv.existingKeyValue(bucket: ClusterLayout.leaseBucket), node: self.options.name, ttlMillis: config.leaseMillis)
        let liveness = try kv.existingKeyValue(bucket: ClusterLayout.nodeBucket)
        let tick = Duration.milliseconds(config.leaseMillis / 3)
        let held = HeldPartitions()
        self.logger.info("node \(self.options.name): \(config.partitions) partitions, leases of \(config.leaseMillis) ms, data in \(self.options.dataDirectory)")

        let renewing = DispatchGroup()
        renewing.enter()
        let renewer = Thread { [self] in
            self.renewLeases(held, in: leases, every: tick)
            renewing.leave()
        }
        renewer.name = "node-renew-leases"
        renewer.start()
        self.shareOut(held, config: config, js: js, leases: leases, liveness: liveness, every: tick)
        renewing.wait()

        for (p, worker) in held.all where held.remove(p, ifIs: worker) {
            worker.stop()
            try? leases.release(worker.currentLease)
        }
        try? liveness.delete(self.options.name)
        let counts = self.counters.snapshot
        self.logger.info("node \(self.options.name): stopped; applied \(counts.applied), skipped \(counts.redelivered) redelivered, \(counts.rejected) not recorded")
        try? connection.flush()
        connection.close()
    }

    /// The renewing loop. The leases are renewed side by side, in up to ``renewalLanes`` threads: a
    /// renewal is a round trip to the bucket stream's leader and a replication, which took up to a second
    /// on a loaded machine, and one after the other a node holding 7 partitions let leases of 5 s expire
    /// (the 1,000,000-user check: partitions lost and taken back every few seconds).
    private func renewLeases(_ held: HeldPartitions, in leases: LeaseBook, every tick: Duration) {
        while !self.stopping {
            let all = Array(held.all)
            let lanes = min(all.count, Self.renewalLanes)
            let round = DispatchGroup()
            for lane in 0..<lanes {
                round.enter()
                let thread = Thread { [self] in
                    for i in stride(from: lane, to: all.count, by: lanes) {
                        self.renew(all[i].value, of: all[i].key, held: held, in: leases)
                    }
                    round.leave()
                }
                thread.name = "node-renew-\(lane)"
                thread.start()
            }
            round.wait()
            self.sleep(tick)
        }
    }

    /// How many renewals a node has under way at once.
    static let renewalLanes = 16

    private func renew(_ worker: PartitionWorker, of p: Int, held: HeldPartitions, in leases: LeaseBook) {
        var lost = false
        do {
            if let renewed = try leases.renew(worker.currentLease) { worker.renewed(renewed) } else { lost = true }
        } catch {
            // The servers did not answer: keep going while the lease is surely still ours.
            lost = !worker.currentLease.isValid
            self.logger.warning("partition \(p): renewing the lease: \(error)")
        }
        if lost && held.remove(p, ifIs: worker) {
            self.logger.warning("partition \(p): lease lost; its worker stops")
            worker.stop()
        }
    }

    /// The sharing loop.
    private func shareOut(_ held: HeldPartitions, config: ClusterConfig, js: JetStream, leases: LeaseBook, liveness: KeyValueBucket, every tick: Duration) {
        let preference = (0..<config.partitions).sorted { a, b in self.rank(a) > self.rank(b) }
        var lastLive = 1
        var firstRound = true
        while !self.stopping {
            do {
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
                    if held.count < share {
                        // At most a round's time of taking (opening a store and a consumer takes a while).
                        let roundEnds = ContinuousClock.now + tick
                        for p in preference where !held.holds(p) && held.count < share && ContinuousClock.now < roundEnds && !self.stopping {
                            guard let lease = try leases.acquire(p) else { continue }
                            let worker = try PartitionWorker(partition: p, lease: lease, js: js, options: self.options, counters: self.counters, logger: self.logger)
                            held.add(worker)  // renewed from now on, while its consumer starts
                            do {
                                try worker.start()
                            } catch {
                                if held.remove(p, ifIs: worker) { worker.stop() }
                                try? leases.release(worker.currentLease)
                                throw error
                            }
                            self.logger.info("partition \(p): lease taken by \(self.options.name)")
                        }
                    } else if held.count > share, let p = preference.last(where: { held.holds($0) }), let worker = held.all[p], held.remove(p, ifIs: worker) {
                        worker.stop()
                        try leases.release(worker.currentLease)
                        self.logger.info("partition \(p): released (\(held.count + 1) held, share \(share) of \(live) nodes)")
                    }
                }
                firstRound = false
            } catch {
                self.logger.error("node \(self.options.name): \(error)")
            }
            self.sleep(tick)
        }
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
