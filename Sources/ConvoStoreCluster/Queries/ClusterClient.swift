import ConvoStore
import Foundation

extension ClusterError {
    /// An owner is being found, or is getting ready: the question is worth asking again.
    var isTransient: Bool {
        switch self {
        case .partitionWithoutOwner, .partitionNotReady: true
        default: false
        }
    }
}

/// One partition's answer: its lines (the single-store command's JSON) and the owner's state.
struct PartitionAnswer: Sendable {
    var partition: Int
    var node: String
    var position: UInt64
    var tiered: Bool
    var lines: [String]
}

/// The cluster's queries as a library call: each question goes to the owner of every partition at once
/// (NATS request-reply on ``ClusterLayout/querySubject(_:)``), and the answers are merged into the
/// single-store command's output, byte for byte. A partition nobody answers for is an error that names
/// it (``ClusterError/partitionWithoutOwner(partition:)``), never a silently short answer.
///
/// A partition may be without an owner for a moment: its owner died and the lease has not expired yet,
/// or a NATS server died and the owner's subscription is moving to another server; or its owner may not
/// be ready: its lease is in doubt, or it took the partition over and is still applying what the stream
/// held then (so that no answer ever goes back behind one an earlier owner gave). Such a question is
/// asked again until `ownerWaitMillis` has passed (by default the time a takeover takes: a lease's life
/// and one round of the taking node), and only then is it an error naming the partition and why.
public final class ClusterClient: Sendable {
    private let connection: NATSConnection
    /// The cluster's configuration.
    public let config: ClusterConfig
    private let timeoutMillis: Int64
    private let ownerWaitMillis: Int64

    /// A client of the cluster on `urls`; each partition has `timeoutMillis` to answer once its owner
    /// is found, and `ownerWaitMillis` (`nil`: a takeover's time) to be found.
    public init(urls: [String], timeoutMillis: Int64 = 30_000, ownerWaitMillis: Int64? = nil) throws {
        self.connection = try NATSConnection(urls: urls, name: "convostore-cluster-query")
        self.config = try ClusterSetup.read(from: try self.connection.jetStream())
        self.timeoutMillis = timeoutMillis
        self.ownerWaitMillis = ownerWaitMillis ?? (self.config.leaseMillis + self.config.leaseMillis / 3)
    }

    /// `overdue`: JSON lines `{"business","customer","waiting_since","reply_due_at"}` in (reply_due_at,
    /// business, customer) order, as `convostore overdue --json` prints them for one store.
    public func overdue(asOf: Int64, business: String? = nil, limit: Int? = nil) throws -> [String] {
        try WaitingMerge.merge(try self.ask(.overdue(asOf: asOf, business: business, limit: limit)).map(\.lines), key: "reply_due_at", limit: limit)
    }

    /// `newly-overdue`: reply_due_at in (after, until], in the same order and JSON.
    public func newlyOverdue(after: Int64, until: Int64, limit: Int? = nil) throws -> [String] {
        try WaitingMerge.merge(try self.ask(.newlyOverdue(after: after, until: until, limit: limit)).map(\.lines), key: "reply_due_at", limit: limit)
    }

    /// `windows`: `{"business","customer","window_expires_at"}` for windows closing in [from, to).
    public func windows(from: Int64, to: Int64, business: String? = nil, limit: Int? = nil) throws -> [String] {
        try WaitingMerge.merge(try self.ask(.windows(from: from, to: to, business: business, limit: limit)).map(\.lines), key: "window_expires_at", limit: limit)
    }

    /// `billing`: the business's charges over every partition, as `billing --json` prints them. Refused
    /// when a partition's rate card has volume tiers: a tier ranks all of a business's messages of a
    /// month, which no single partition sees, so per-partition amounts would not add up.
    public func billing(business: String, from: Int64? = nil, to: Int64? = nil) throws -> String {
        let answers = try self.ask(.billing(business: business, from: from, to: to))
        if let tiered = answers.first(where: \.tiered) {
            throw ClusterError.partitionFailed(partition: tiered.partition, reason: "its rate card has volume tiers; amounts of a partitioned business cannot be added up (docs/cluster.md, limits)")
        }
        return try BillingMerge.merge(answers.flatMap(\.lines), business: business, from: from, to: to)
    }

    /// Each partition's owner, position and counts, with its stream's last sequence.
    public func status() throws -> [PartitionStatus] {
        try self.ask(.status).map { answer in
            guard let line = answer.lines.first else { throw ClusterError.partitionFailed(partition: answer.partition, reason: "empty status") }
            return try JSONDecoder().decode(PartitionStatus.self, from: Data(line.utf8))
        }
    }

    /// Sends `query` to every partition's owner at once and collects the answers.
    func ask(_ query: PartitionQuery) throws -> [PartitionAnswer] {
        let request = Array(try JSONEncoder().encode(query))
        let ownerDeadline = ContinuousClock.now + .milliseconds(self.ownerWaitMillis)
        let pending = try (0..<self.config.partitions).map { p in (partition: p, subscription: try self.send(request, to: p)) }
        return try pending.map { p, first in
            var subscription = first
            while true {
                do {
                    return try self.collect(partition: p, from: subscription)
                } catch let error as ClusterError where error.isTransient && ContinuousClock.now < ownerDeadline {
                    Thread.sleep(forTimeInterval: 0.25)
                    subscription = try self.send(request, to: p)
                }
            }
        }
    }

    /// Publishes `request` to partition `p`'s owner; its answer comes on the returned subscription.
    private func send(_ request: [UInt8], to p: Int) throws -> NATSSubscription {
        let inbox = self.connection.newInbox()
        let subscription = try self.connection.subscribe(inbox)
        try self.connection.publish(ClusterLayout.querySubject(p), request, reply: inbox)
        return subscription
    }

    private func collect(partition p: Int, from subscription: NATSSubscription) throws -> PartitionAnswer {
        var answer = PartitionAnswer(partition: p, node: "", position: 0, tiered: false, lines: [])
        let deadline = ContinuousClock.now + .milliseconds(self.timeoutMillis)
        while true {
            let left = max(1, (deadline - ContinuousClock.now).milliseconds)
            let message: NATSMessage?
            switch Result(catching: { () throws(NATSError) in try subscription.next(timeoutMillis: left) }) {
            case .success(let next): message = next
            case .failure(let error) where error.isNoResponders && answer.lines.isEmpty && answer.node.isEmpty:
                throw ClusterError.partitionWithoutOwner(partition: p)
            case .failure(let error): throw error
            }
            guard let message else {
                throw ClusterError.partitionFailed(partition: p, reason: "its owner\(answer.node.isEmpty ? "" : " \(answer.node)") did not answer within \(self.timeoutMillis / 1000) s")
            }
            var lines = String(decoding: message.data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
            guard !lines.isEmpty, let head = try? JSONDecoder().decode(AnswerHead.self, from: Data(lines.removeFirst().utf8)) else {
                throw ClusterError.partitionFailed(partition: p, reason: "an answer without its head line")
            }
            if head.moved == true { throw ClusterError.partitionNotReady(partition: p, reason: "node \(head.node): \(head.error ?? "not ready")") }
            if let error = head.error { throw ClusterError.partitionFailed(partition: p, reason: "node \(head.node): \(error)") }
            answer.node = head.node
            answer.position = head.position
            answer.tiered = head.tiered ?? false
            answer.lines += lines
            if head.last { return answer }
        }
    }
}

extension Duration {
    /// The duration in whole milliseconds.
    var milliseconds: Int64 { self.components.seconds * 1_000 + self.components.attoseconds / 1_000_000_000_000_000 }
}
