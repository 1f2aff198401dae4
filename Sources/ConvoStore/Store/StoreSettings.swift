import LMDB

/// Prices per template category, in micro-units of currency.
public struct RateCard: Sendable, Hashable, Codable {
    /// Per marketing template.
    public var marketing: Int64 = 25_000
    /// Per utility template charged (outside the service window).
    public var utility: Int64 = 4_000
    /// Per authentication template.
    public var authentication: Int64 = 4_000

    /// The default rate card.
    public init() {}

    /// The price of one message of `category`.
    public func rate(for category: TemplateCategory) -> Int64 {
        switch category {
        case .marketing: self.marketing
        case .utility: self.utility
        case .authentication: self.authentication
        }
    }
}

/// How commits reach the disk. Only ``durable`` keeps acknowledged writes through power loss.
public enum StoreDurability: String, Sendable, Hashable, Codable {
    /// fsync on every commit (the default).
    case durable
    /// Skips the meta-page sync: the last commits may roll back after power loss. Survives kill -9.
    case unsafeNoMetaSync
    /// No sync: the operating system flushes when it likes. Survives kill -9, not power loss.
    case unsafeNoSync

    var lmdb: Durability {
        switch self {
        case .durable: .durable
        case .unsafeNoMetaSync: .unsafeNoMetaSync
        case .unsafeNoSync: .unsafeNoSync
        }
    }
}

/// The numbers of docs/domain.md that a store is created with and keeps in its directory.
public struct StoreSettings: Sendable, Hashable, Codable {
    /// The customer service window (R1), 24 h.
    public var windowMillis: Int64 = 86_400_000
    /// The reply SLA (R2), 24 h; businesses may override it with ``ConvoStore/setReplySLA(business:millis:)``.
    public var replySLAMillis: Int64 = 86_400_000
    /// How long after an entry point inbound a reply opens a free window (R3), 24 h.
    public var freeEntryReplyMillis: Int64 = 86_400_000
    /// How long a free entry point window lasts (R3), 72 h.
    public var freeEntryWindowMillis: Int64 = 259_200_000
    /// Prices (R4).
    public var rates = RateCard()
    /// Commit durability; durable unless asked.
    public var durability: StoreDurability = .durable

    /// The defaults of domain.md.
    public init() {}

    func validate() throws(ConvoStoreError) {
        for (name, value) in [("window", windowMillis), ("replySLA", replySLAMillis),
                              ("freeEntryReply", freeEntryReplyMillis), ("freeEntryWindow", freeEntryWindowMillis)] {
            guard value > 0, value <= 366 * 86_400_000 else {
                throw .invalidField(field: name, reason: "must be between 1 ms and 366 days, got \(value)")
            }
        }
        for (name, value) in [("marketing", rates.marketing), ("utility", rates.utility), ("authentication", rates.authentication)] {
            guard value >= 0 else { throw .invalidField(field: "rates.\(name)", reason: "must not be negative, got \(value)") }
        }
    }
}
