/// The names a cluster's parts have in NATS: one stream per partition, the buckets of its configuration,
/// leases and live nodes, the subjects its queries travel on. One place, so publishers, nodes and query
/// clients agree.
public enum ClusterLayout {
    /// The stream of partition `p` (its sequence is the partition's offset).
    public static func stream(_ p: Int) -> String { "CONVO_\(p)" }
    /// The one subject that stream stores.
    public static func subject(_ p: Int) -> String { "convo.events.\(p)" }
    /// The durable pull consumer the owner of partition `p` reads it with.
    public static func consumer(_ p: Int) -> String { "convo-partition-\(p)" }
    /// The name under which a partition's store keeps how far it applied the stream.
    public static func logName(_ p: Int) -> String { stream(p) }
    /// The subject the owner of partition `p` answers queries on (nobody else subscribes to it).
    public static func querySubject(_ p: Int) -> String { "convo.query.\(p)" }

    /// The bucket holding the cluster's configuration, under ``configKey``.
    public static let configBucket = "convo_config"
    /// The key of the configuration.
    public static let configKey = "cluster"
    /// The bucket of partition leases, one key per partition (``leaseKey(_:)``).
    public static let leaseBucket = "convo_leases"
    /// The lease key of partition `p`.
    public static func leaseKey(_ p: Int) -> String { "partition.\(p)" }
    /// The bucket where each live node keeps a value under its name (expiring like a lease).
    public static let nodeBucket = "convo_nodes"

    /// Header naming the format of a published line: `native` (the default) or `webhook`.
    public static let formatHeader = "Convo-Format"
    /// Header of a webhook delivery published to a partition: the indexes, in the parsed delivery's
    /// items, of those that belong to this partition (`0,3,4`).
    public static let itemsHeader = "Convo-Items"
}
