/// A question to one partition's owner, as it travels on ``ClusterLayout/querySubject(_:)`` (JSON).
/// The options are the single-store commands' own.
public enum PartitionQuery: Codable, Sendable, Hashable {
    /// `overdue --as-of T [--business B] [--limit N]`.
    case overdue(asOf: Int64, business: String?, limit: Int?)
    /// `newly-overdue --after T1 --until T2 [--limit N]`.
    case newlyOverdue(after: Int64, until: Int64, limit: Int?)
    /// `windows --from T1 --to T2 [--business B] [--limit N]`.
    case windows(from: Int64, to: Int64, business: String?, limit: Int?)
    /// `billing --business B [--from T1] [--to T2]`.
    case billing(business: String, from: Int64?, to: Int64?)
    /// The partition's owner, position and counts.
    case status
}

/// The head of each chunk of an answer: the first line of the chunk, the answer's lines after it.
/// Answers are sent in chunks of at most ``maxChunkBytes`` (NATS' default payload limit is 1 MiB).
struct AnswerHead: Codable, Sendable {
    /// The answering node.
    var node: String
    /// The partition's position (the last stream sequence its store applied).
    var position: UInt64
    /// The last chunk of the answer.
    var last: Bool
    /// The partition's rate card has volume tiers (billing only).
    var tiered: Bool?
    /// Why the partition could not answer.
    var error: String?
    /// The node cannot answer for the partition now (its lease is in doubt or lost): ask again, its
    /// owner will (this node once its lease is renewed, another once it took the partition over).
    var moved: Bool?

    static let maxChunkBytes = 512 << 10
}

/// A partition's state, as `cluster status` reports it.
public struct PartitionStatus: Codable, Sendable, Hashable {
    /// The partition.
    public var partition: Int
    /// The node that owns it.
    public var node: String
    /// The last stream sequence its store applied.
    public var position: UInt64
    /// The last sequence of its stream.
    public var streamLastSequence: UInt64
    /// Messages in its store.
    public var messages: Int
    /// Conversations in its store.
    public var conversations: Int

    enum CodingKeys: String, CodingKey {
        case partition, node, position, messages, conversations
        case streamLastSequence = "stream_last_sequence"
    }
}
