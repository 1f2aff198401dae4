import LMDB

// The `charges` database (KeyLayout.swift): one value per outbound message, under the key of its
// business, market, billing class, UTC day and platform class.

/// What billing counts an outbound message as: a charged category, free, a violation, or failed (R6).
enum BillingClass: Hashable, Comparable {
    case charged(ChargeCategory)
    case free
    case violation(Violation)
    case failed

    /// The class of a message: failed beats its R4 classification.
    init(outcome: SendOutcome, failed: Bool) {
        if failed {
            self = .failed
            return
        }
        switch outcome {
        case .free: self = .free
        case .charged(let category): self = .charged(category)
        case .violation(let violation): self = .violation(violation)
        }
    }

    var code: UInt8 {
        switch self {
        case .charged(let category): category.rawValue
        case .free: 0x08
        case .violation(let violation): 0x10 | violation.rawValue
        case .failed: 0x20
        }
    }

    init?(code: UInt8) {
        switch code {
        case 0...3: self = .charged(ChargeCategory(rawValue: code)!)
        case 0x08: self = .free
        case 0x11...0x16: self = .violation(Violation(rawValue: code & 0x0F)!)
        case 0x20: self = .failed
        default: return nil
        }
    }

    /// The name in `summary` lines: a charged category, `free`, a violation's name, or `failed`.
    var name: String {
        switch self {
        case .charged(let category): category.name
        case .free: "free"
        case .violation(let violation): violation.name
        case .failed: "failed"
        }
    }

    init?(name: String) {
        if let category = ChargeCategory(name: name) { self = .charged(category) } else if name == "free" { self = .free } else if name == "failed" { self = .failed } else if let violation = Violation(name: name) { self = .violation(violation) } else { return nil }
    }

    static func < (a: Self, b: Self) -> Bool { a.code < b.code }
}

/// How the platform's own pricing (statuses' `pricing`) classed a message, for billing's `platform`.
enum PlatformClass: UInt8, CaseIterable {
    case unpriced = 0
    case free = 1
    case marketing = 2
    case utility = 3
    case authentication = 4
    case service = 5

    /// No pricing seen: `unpriced`. Not billable, or a free type (`free_customer_service`,
    /// `free_entry_point`): `free`. Else its category (`marketing_lite` is marketing,
    /// `authentication-international` authentication, `referral_conversion` free); a category the
    /// platform adds later counts as `unpriced`.
    init(_ pricing: PlatformPricing?) {
        guard let pricing else {
            self = .unpriced
            return
        }
        if pricing.billable == false || pricing.type?.hasPrefix("free") == true {
            self = .free
            return
        }
        switch pricing.category {
        case "marketing", "marketing_lite": self = .marketing
        case "utility": self = .utility
        case "authentication", "authentication-international", "authentication_international": self = .authentication
        case "service": self = .service
        case "referral_conversion": self = .free
        default: self = .unpriced
        }
    }

    /// The name in outputs: a category, `free` or `unpriced`.
    var name: String {
        switch self {
        case .unpriced: "unpriced"
        case .free: "free"
        case .marketing: "marketing"
        case .utility: "utility"
        case .authentication: "authentication"
        case .service: "service"
        }
    }

    init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    /// The charge category it counts under, if charged.
    var category: ChargeCategory? {
        switch self {
        case .marketing: .marketing
        case .utility: .utility
        case .authentication: .authentication
        case .service: .service
        case .unpriced, .free: nil
        }
    }
}

/// A key of `charges`.
struct ChargeKey: Hashable {
    var business: [UInt8]
    var market: Market
    var billingClass: BillingClass
    var day: UInt32
    var platform: PlatformClass

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: self.business.count + self.market.name.utf8.count + 10)
        w.ordered(self.business)
        w.short(Array(self.market.name.utf8))
        w.u8(self.billingClass.code)
        w.u32(self.day)
        w.u8(self.platform.rawValue)
        return w.bytes
    }

    init(business: [UInt8], market: Market, billingClass: BillingClass, day: UInt32, platform: PlatformClass) {
        self.business = business
        self.market = market
        self.billingClass = billingClass
        self.day = day
        self.platform = platform
    }

    init(decoding buffer: UnsafeRawBufferPointer) throws(ConvoStoreError) {
        var r = ByteReader(buffer, database: "charges")
        self.business = try r.ordered()
        self.market = Market(name: String(utf8Bytes: try r.short()))
        let code = try r.u8()
        guard let billingClass = BillingClass(code: code) else { throw .corruptRecord(database: "charges", detail: "unknown class \(code)") }
        self.billingClass = billingClass
        self.day = try r.u32()
        let platform = try r.u8()
        guard let platformClass = PlatformClass(rawValue: platform) else { throw .corruptRecord(database: "charges", detail: "unknown platform class \(platform)") }
        self.platform = platformClass
        try r.expectEnd()
    }

    /// The bound before every key of `business` and `market` with class `billingClass` from `day` on.
    static func bound(business: [UInt8], market: Market, billingClass: BillingClass, day: UInt32) -> [UInt8] {
        var w = ByteWriter(capacity: business.count + market.name.utf8.count + 9)
        w.ordered(business)
        w.short(Array(market.name.utf8))
        w.u8(billingClass.code)
        w.u32(day)
        return w.bytes
    }
}

/// A value of `charges`: the message's time and id, or (kept without its message) its time and a
/// sequence number. Values of a key sort by time, kept charges before messages, then message ids.
enum ChargeValue: Equatable {
    case message(at: Int64, id: [UInt8])
    case kept(at: Int64, seq: UInt64)

    var at: Int64 {
        switch self {
        case .message(let at, _), .kept(let at, _): at
        }
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 9 + 128)
        switch self {
        case .message(let at, let id):
            w.time(at)
            w.u8(1)
            w.raw(id)
        case .kept(let at, let seq):
            w.time(at)
            w.u8(0)
            w.u64(seq)
        }
        return w.bytes
    }

    init(decoding buffer: UnsafeRawBufferPointer) throws(ConvoStoreError) {
        var r = ByteReader(buffer, database: "charges")
        let at = try r.time()
        switch try r.u8() {
        case 1: self = .message(at: at, id: try r.bytes(buffer.count - 9))
        case 0:
            self = .kept(at: at, seq: try r.u64())
            try r.expectEnd()
        case let kind: throw .corruptRecord(database: "charges", detail: "unknown value kind \(kind)")
        }
    }

    /// Just the time of a value, read without copying.
    static func time(of buffer: UnsafeRawBufferPointer) throws(ConvoStoreError) -> Int64 {
        var r = ByteReader(buffer, database: "charges")
        return try r.time()
    }
}

/// The two edges of a reach's interval (R8), in `reachEdges`.
enum ReachEdge: UInt8 {
    case start = 0
    case end = 1
}
