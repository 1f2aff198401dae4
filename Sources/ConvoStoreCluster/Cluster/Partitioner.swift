/// Which partition a conversation belongs to: FNV-1a 64 of the business's UTF-8 bytes, one 0xFF byte
/// (never part of UTF-8, so ("ab","c") and ("a","bc") differ), and the customer's bytes, modulo the
/// partition count. Stable across runs, machines and versions: it is part of the cluster's data layout.
public struct Partitioner: Sendable, Hashable {
    /// P, fixed when the cluster is created.
    public let partitions: Int

    /// A partitioner over `partitions` partitions (at least 1).
    public init(partitions: Int) {
        precondition(partitions > 0, "a cluster has at least one partition")
        self.partitions = partitions
    }

    /// The partition of the conversation (business, customer), in `0..<partitions`.
    public func partition(business: String, customer: String) -> Int {
        var hash = FNV1a64()
        hash.add(business.utf8)
        hash.add(0xFF)
        hash.add(customer.utf8)
        return Int(hash.value % UInt64(self.partitions))
    }
}

/// FNV-1a, 64 bits (http://www.isthe.com/chongo/tech/comp/fnv/): a few lines, no table, and well
/// enough spread for partitioning and message ids; not a defence against chosen keys.
struct FNV1a64 {
    private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    mutating func add(_ byte: UInt8) {
        self.value = (self.value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }

    mutating func add<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for byte in bytes { self.add(byte) }
    }

    /// The hash of `bytes`.
    static func hash<S: Sequence>(_ bytes: S) -> UInt64 where S.Element == UInt8 {
        var h = FNV1a64()
        h.add(bytes)
        return h.value
    }
}
