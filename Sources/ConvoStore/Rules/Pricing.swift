// R7: how much a charged message costs. Which version of the rate card is in force at its time,
// which rows apply to its market and category (with the fallbacks), and the rate of its volume
// rank. Whether a message is charged at all is SendRules' (R4).

/// One row of a rate card (docs/contract.md, "Rate card (CSV)").
public struct RateRow: Sendable, Hashable {
    /// A market of R7 (`IN`, `north_america`, `other`, ...).
    public var market: String
    /// The category it prices.
    public var category: ChargeCategory
    /// The 1-based monthly rank where this rate starts (1: the base rate).
    public var tierFrom: Int64
    /// The rate, in micro-units of the card's currency.
    public var rateMicros: Int64

    /// Makes a row.
    public init(market: String, category: ChargeCategory, tierFrom: Int64, rateMicros: Int64) {
        self.market = market
        self.category = category
        self.tierFrom = tierFrom
        self.rateMicros = rateMicros
    }
}

/// The rows of a rate card with one `effective_from`: one version, in force from that time until
/// the next version's.
public struct RateCardVersion: Sendable, Hashable {
    /// When it takes effect, epoch milliseconds.
    public var effectiveFrom: Int64
    /// Its rows, sorted by market, category and tier.
    public var rows: [RateRow]

    /// Makes a version; the rows are sorted.
    public init(effectiveFrom: Int64, rows: [RateRow]) {
        self.effectiveFrom = effectiveFrom
        self.rows = rows.sorted { ($0.market, $0.category.name, $0.tierFrom) < ($1.market, $1.category.name, $1.tierFrom) }
    }
}

/// The rates of one (market, category) at one version, after the fallbacks: tiers by rank.
struct Tariff: Equatable {
    /// `(tierFrom, rate)`, ascending; the first is tier 1.
    let tiers: [(from: Int64, rate: Int64)]

    static func == (a: Tariff, b: Tariff) -> Bool { a.tiers.elementsEqual(b.tiers) { $0 == $1 } }

    /// A flat rate.
    init(rate: Int64) { self.tiers = [(1, rate)] }

    init(tiers: [(from: Int64, rate: Int64)]) { self.tiers = tiers }

    /// The rate of the message of rank `n`: the row with the largest `tierFrom <= n`.
    func rate(rank n: Int64) -> Int64 {
        var rate = self.tiers[0].rate
        for tier in self.tiers where tier.from <= n { rate = tier.rate }
        return rate
    }

    /// The total of the messages of ranks `first...last` (none when `last < first`), in O(tiers).
    func total(ranks first: Int64, _ last: Int64) -> Int64 {
        guard last >= first else { return 0 }
        var total: Int64 = 0
        for (i, tier) in self.tiers.enumerated() {
            let tierLast = i + 1 < self.tiers.count ? self.tiers[i + 1].from - 1 : Int64.max
            let lo = max(first, tier.from)
            let hi = min(last, tierLast)
            if hi >= lo { total += (hi - lo + 1) * tier.rate }
        }
        return total
    }

    /// Only the base rate (marketing and service are never tiered).
    var base: Tariff { Tariff(rate: self.tiers[0].rate) }
}

/// Every version of the store's rate card, with the store's defaults behind them: the price of any
/// (market, category, time, rank).
struct RateBook: Sendable {
    /// Sorted by `effectiveFrom`.
    let versions: [RateCardVersion]
    let defaults: RateCard
    /// Per version: the rows of each (market, category), by tier.
    private let index: [[String: [ChargeCategory: [(from: Int64, rate: Int64)]]]]

    init(versions: [RateCardVersion], defaults: RateCard) {
        self.versions = versions.sorted { $0.effectiveFrom < $1.effectiveFrom }
        self.defaults = defaults
        self.index = self.versions.map { version in
            var byMarket: [String: [ChargeCategory: [(from: Int64, rate: Int64)]]] = [:]
            for row in version.rows { byMarket[row.market, default: [:]][row.category, default: []].append((row.tierFrom, row.rateMicros)) }
            return byMarket.mapValues { $0.mapValues { $0.sorted { $0.from < $1.from } } }
        }
    }

    /// The index of the version in force at `t`, or nil before the first.
    func version(at t: Int64) -> Int? {
        var lo = 0
        var hi = self.versions.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if self.versions[mid].effectiveFrom <= t { lo = mid + 1 } else { hi = mid }
        }
        return lo == 0 ? nil : lo - 1
    }

    /// The times in `(from, to)` at which a new version takes effect.
    func changes(after from: Int64, before to: Int64) -> [Int64] {
        self.versions.map(\.effectiveFrom).filter { $0 > from && $0 < to }
    }

    /// The tariff of `category` in `market` at version `v` (R7's fallbacks): the (market, category)
    /// rows; else (other, category); for service, else the market's utility base rate (found the
    /// same way); else the store's default.
    func tariff(market: String, category: ChargeCategory, version v: Int?) -> Tariff {
        guard let v else { return Tariff(rate: self.defaults.rate(for: category)) }
        let rows = self.index[v]
        func found(_ category: ChargeCategory) -> [(from: Int64, rate: Int64)]? {
            rows[market]?[category] ?? rows[Market.other.name]?[category]
        }
        if let tiers = found(category) {
            let tariff = Tariff(tiers: tiers)
            return category.isTiered ? tariff : tariff.base
        }
        if category == .service, let utility = found(.utility) { return Tariff(tiers: utility).base }
        return Tariff(rate: self.defaults.rate(for: category))
    }

    /// The price of the charged message of `rank` in its month, at `t`.
    func price(market: String, category: ChargeCategory, at t: Int64, rank: Int64) -> Int64 {
        self.tariff(market: market, category: category, version: self.version(at: t)).rate(rank: rank)
    }
}

// MARK: Storage of a version

extension RateCardVersion {
    /// The value of a version in `rates`: its rows, each market, category, tier and rate.
    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 8 + self.rows.count * 24)
        w.u32(UInt32(self.rows.count))
        for row in self.rows {
            w.short(Array(row.market.utf8))
            w.u8(row.category.rawValue)
            w.u64(UInt64(row.tierFrom))
            w.u64(UInt64(row.rateMicros))
        }
        w.seal()
        return w.bytes
    }

    init(effectiveFrom: Int64, decoding buffer: UnsafeRawBufferPointer) throws(ConvoStoreError) {
        var r = try ByteReader.sealed(buffer, database: "rates")
        let count = Int(try r.u32())
        var rows: [RateRow] = []
        for _ in 0..<min(count, 1 << 20) {
            let market = String(utf8Bytes: try r.short())
            let code = try r.u8()
            guard let category = ChargeCategory(rawValue: code) else { throw .corruptRecord(database: "rates", detail: "unknown category \(code)") }
            rows.append(RateRow(market: market, category: category, tierFrom: Int64(bitPattern: try r.u64()), rateMicros: Int64(bitPattern: try r.u64())))
        }
        try r.expectEnd()
        self.init(effectiveFrom: effectiveFrom, rows: rows)
    }
}
