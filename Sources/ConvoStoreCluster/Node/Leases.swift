import Foundation

/// A node's hold on a partition: the lease key's revision it wrote, and until when (on this process's
/// monotonic clock) it may act on the partition.
public struct Lease: Sendable, Hashable {
    /// The partition.
    public var partition: Int
    /// The revision of the lease key this node wrote last (renewal is a compare-and-set against it).
    public var revision: UInt64
    /// Past this instant the node must no longer consume the partition nor answer for it.
    public var validUntil: ContinuousClock.Instant

    /// A lease on `partition` at `revision`, acted on until `validUntil`.
    public init(partition: Int, revision: UInt64, validUntil: ContinuousClock.Instant) {
        self.partition = partition
        self.revision = revision
        self.validUntil = validUntil
    }

    /// Whether the node may still act on the partition.
    public var isValid: Bool { ContinuousClock.now < self.validUntil }
}

/// Leases on partitions in a JetStream key-value bucket whose values expire `ttl` after their last write
/// (the bucket's max age): taken with create-if-absent, renewed with update-on-revision, released with a
/// delete. No consensus of our own: the bucket's stream is replicated by JetStream's.
///
/// Timing. The bucket's server starts a value's `ttl` when it stores the write, which is after this node
/// sent it; so a lease written successfully is the node's at least until (time the write was sent) +
/// `ttl` on the node's clock. The node gives up `margin` earlier (``Lease/validUntil``): it stops
/// fetching and answering for the partition before the server can expire the value, and only then can
/// another node's create succeed. What the margin covers: the two clocks' rates and the server's expiry
/// timer; not a server's wall clock jumping forward (docs/cluster.md says why exactness does not depend
/// on it anyway).
public final class LeaseBook: Sendable {
    private let bucket: KeyValueBucket
    /// The node's name, written as the lease's value.
    public let node: String
    /// The node's name as the lease's value.
    private let value: [UInt8]
    /// How long a written lease lives on the server.
    public let ttl: Duration
    /// How much earlier than the server the node lets go.
    public let margin: Duration

    /// Leases of `node` in `bucket`, whose values live `ttlMillis`.
    public init(bucket: KeyValueBucket, node: String, ttlMillis: Int64) {
        self.bucket = bucket
        self.node = node
        self.value = Array(node.utf8)
        self.ttl = .milliseconds(ttlMillis)
        self.margin = .milliseconds(max(ttlMillis / 4, 250))
    }

    /// Takes partition `p` if nobody holds it; `nil` if someone does.
    public func acquire(_ p: Int) throws -> Lease? {
        let sent = ContinuousClock.now
        guard let revision = try self.bucket.create(ClusterLayout.leaseKey(p), self.value) else { return nil }
        return Lease(partition: p, revision: revision, validUntil: sent + self.ttl - self.margin)
    }

    /// Renews a lease this node holds; `nil` if it is no longer its (expired and maybe taken since).
    public func renew(_ lease: Lease) throws -> Lease? {
        let key = ClusterLayout.leaseKey(lease.partition)
        let sent = ContinuousClock.now
        if let revision = try self.bucket.update(key, self.value, lastRevision: lease.revision) {
            return Lease(partition: lease.partition, revision: revision, validUntil: sent + self.ttl - self.margin)
        }
        // The compare-and-set lost. If the latest value is still this node's name, what it lost to is one
        // of this node's own renewals, stored by the servers but whose answer never came back (a timeout
        // under load): nobody else can have written since, as a value lives until it expires and only this
        // node writes its name (names are unique in a cluster). Renew against that revision rather than
        // give the partition up; the lease counts from this write, and the worker kept to the last known one.
        guard let entry = try self.bucket.get(key), entry.revision > lease.revision, entry.value == self.value else {
            return nil
        }
        let resent = ContinuousClock.now
        guard let revision = try self.bucket.update(key, self.value, lastRevision: entry.revision) else { return nil }
        return Lease(partition: lease.partition, revision: revision, validUntil: resent + self.ttl - self.margin)
    }

    /// Gives a partition up at once (the node has stopped acting on it), so another may take it without
    /// waiting for the expiry.
    public func release(_ lease: Lease) throws {
        // Only if it is still ours: a compare-and-set to an empty value would need a delete-on-revision,
        // which the bucket API lacks; an expired lease taken by another node must not be deleted.
        guard let entry = try self.bucket.get(ClusterLayout.leaseKey(lease.partition)), entry.revision == lease.revision else { return }
        try self.bucket.delete(ClusterLayout.leaseKey(lease.partition))
    }

    /// Who holds partition `p` now, if anyone.
    public func holder(_ p: Int) throws -> String? {
        try self.bucket.get(ClusterLayout.leaseKey(p)).map { String(decoding: $0.value, as: UTF8.self) }
    }
}
