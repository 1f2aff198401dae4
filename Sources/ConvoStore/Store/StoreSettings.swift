import LMDB

/// The store's default prices per category, in micro-units of currency: what a message costs when
/// no loaded rate card (R7, `ConvoStore.importRates`) has a rate for it. The same in every market.
public struct RateCard: Sendable, Hashable, Codable {
    /// Per marketing template.
    public var marketing: Int64 = 25_000
    /// Per utility template charged (outside the service window).
    public var utility: Int64 = 4_000
    /// Per authentication template.
    public var authentication: Int64 = 4_000

    /// The default rate card.
    public init() {}

    /// The price of one message of `category`; `service` is the utility default (R7).
    public func rate(for category: ChargeCategory) -> Int64 {
        switch category {
        case .marketing: self.marketing
        case .utility, .service: self.utility
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
    /// From when free-form messages inside the window, and utility templates inside it, are charged
    /// (R7): 2026-10-01T00:00:00Z.
    public var serviceChargesFromMillis: Int64 = 1_790_812_800_000

    /// The defaults of domain.md.
    public init() {}

    private enum CodingKeys: String, CodingKey {
        case windowMillis, replySLAMillis, freeEntryReplyMillis, freeEntryWindowMillis, rates, durability
        case serviceChargesFromMillis
    }

    /// Decodes settings; those a store of an earlier format did not keep take their defaults.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.windowMillis = try c.decode(Int64.self, forKey: .windowMillis)
        self.replySLAMillis = try c.decode(Int64.self, forKey: .replySLAMillis)
        self.freeEntryReplyMillis = try c.decode(Int64.self, forKey: .freeEntryReplyMillis)
        self.freeEntryWindowMillis = try c.decode(Int64.self, forKey: .freeEntryWindowMillis)
        self.rates = try c.decode(RateCard.self, forKey: .rates)
        self.durability = try c.decode(StoreDurability.self, forKey: .durability)
        self.serviceChargesFromMillis = try c.decodeIfPresent(Int64.self, forKey: .serviceChargesFromMillis) ?? 1_790_812_800_000
    }

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
        try Limits.checkTime(self.serviceChargesFromMillis, field: "serviceChargesFrom")
    }
}
