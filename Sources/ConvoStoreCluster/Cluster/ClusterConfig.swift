import Foundation

/// What every publisher, node and query client of a cluster must agree on, fixed at creation and kept in
/// the configuration bucket (``ClusterLayout/configBucket``).
public struct ClusterConfig: Codable, Sendable, Hashable {
    /// P: the number of partitions (streams). Never changes: the partition of a conversation depends on it.
    public var partitions: Int
    /// Copies of each stream and bucket (3: one server may be lost without losing a quorum).
    public var replicas: Int
    /// How long a lease lives without renewal, in milliseconds (a dead node's partitions wait this long).
    public var leaseMillis: Int64
    /// How long a stream remembers message ids to drop a publish made twice, in milliseconds.
    public var duplicateWindowMillis: Int64

    /// Makes a configuration.
    public init(partitions: Int, replicas: Int = 3, leaseMillis: Int64 = 10_000, duplicateWindowMillis: Int64 = 2 * 3_600_000) {
        self.partitions = partitions
        self.replicas = replicas
        self.leaseMillis = leaseMillis
        self.duplicateWindowMillis = duplicateWindowMillis
    }

    enum CodingKeys: String, CodingKey {
        case partitions, replicas
        case leaseMillis = "lease_ms"
        case duplicateWindowMillis = "duplicate_window_ms"
    }

    /// The partitioner of this cluster.
    public var partitioner: Partitioner { Partitioner(partitions: self.partitions) }
}

/// Creating a cluster's streams and buckets, and reading its configuration back.
public enum ClusterSetup {
    /// Creates the configuration (if absent), the partitions' streams and the buckets. Run again with the
    /// same configuration, it changes nothing; with another, it fails and says what is there.
    public static func create(_ config: ClusterConfig, on js: JetStream) throws -> ClusterConfig {
        guard (1...4_096).contains(config.partitions) else { throw ClusterError.invalid("--partitions \(config.partitions): between 1 and 4096") }
        guard (1...5).contains(config.replicas) else { throw ClusterError.invalid("--replicas \(config.replicas): between 1 and 5") }
        guard config.leaseMillis >= 1_000 else { throw ClusterError.invalid("--lease-seconds: at least 1") }
        let bucket = try js.keyValue(bucket: ClusterLayout.configBucket, ttlMillis: 0, replicas: config.replicas)
        let encoded = Array(try JSONEncoder().encode(config))
        if try bucket.create(ClusterLayout.configKey, encoded) == nil {
            let existing = try self.read(from: js)
            guard existing == config else {
                throw ClusterError.invalid("a cluster already exists with \(existing.partitions) partitions, \(existing.replicas) replicas and \(existing.leaseMillis) ms leases: its partition count cannot change")
            }
        }
        for p in 0..<config.partitions {
            try js.addStream(StreamSettings(name: ClusterLayout.stream(p), subject: ClusterLayout.subject(p), replicas: config.replicas, duplicateWindowMillis: config.duplicateWindowMillis))
        }
        _ = try js.keyValue(bucket: ClusterLayout.leaseBucket, ttlMillis: config.leaseMillis, replicas: config.replicas)
        _ = try js.keyValue(bucket: ClusterLayout.nodeBucket, ttlMillis: config.leaseMillis, replicas: config.replicas)
        return config
    }

    /// The configuration of the cluster the context reaches; an error that says to create it if absent.
    /// A timeout or a missing responder (a server just died and JetStream is electing leaders) is
    /// retried for `patienceMillis` before it is reported.
    public static func read(from js: JetStream, patienceMillis: Int64 = 20_000) throws -> ClusterConfig {
        let deadline = ContinuousClock.now + .milliseconds(patienceMillis)
        func transient(_ error: NATSError) -> Bool {
            (error.isTimeout || error.isNoResponders) && ContinuousClock.now < deadline
        }
        var bucket: KeyValueBucket?
        var entry: KeyValueEntry?
        while true {
            do throws(NATSError) {
                if bucket == nil { bucket = try js.existingKeyValue(bucket: ClusterLayout.configBucket) }
            } catch {
                if transient(error) { Thread.sleep(forTimeInterval: 0.5); continue }
                throw ClusterError.noCluster("no cluster configuration on these servers (\(error.text)): run `convostore cluster create --nats URLS --partitions P` first")
            }
            do throws(NATSError) {
                entry = try bucket!.get(ClusterLayout.configKey)
                break
            } catch {
                if transient(error) { Thread.sleep(forTimeInterval: 0.5); continue }
                throw error
            }
        }
        guard let entry else {
            throw ClusterError.noCluster("the configuration bucket has no cluster: run `convostore cluster create --nats URLS --partitions P` first")
        }
        do {
            return try JSONDecoder().decode(ClusterConfig.self, from: Data(entry.value))
        } catch {
            throw ClusterError.invalid("the cluster configuration in \(ClusterLayout.configBucket) is not readable: \(error)")
        }
    }
}

/// What goes wrong in the cluster's own logic (NATS failures are ``NATSError``).
public enum ClusterError: Error, Sendable, CustomStringConvertible {
    /// No cluster was created on these servers.
    case noCluster(String)
    /// A setting or an answer that cannot be used.
    case invalid(String)
    /// A partition that nobody serves: a query's answer would be short.
    case partitionWithoutOwner(partition: Int)
    /// A partition's owner answered with an error.
    case partitionFailed(partition: Int, reason: String)
    /// A node answered for the partition that cannot answer yet: its lease is in doubt, or it took the
    /// partition over and has not yet applied what the stream held then.
    case partitionNotReady(partition: Int, reason: String)

    public var description: String {
        switch self {
        case .noCluster(let text), .invalid(let text): text
        case .partitionWithoutOwner(let p):
            "partition \(p) has no live owner (no node answers on \(ClusterLayout.querySubject(p))): the answer would miss its conversations; start a node or wait for a takeover"
        case .partitionFailed(let p, let reason): "partition \(p): \(reason)"
        case .partitionNotReady(let p, let reason): "partition \(p): \(reason); ask again later"
        }
    }
}
