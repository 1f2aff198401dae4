import Foundation

/// The rate card of the workload (R7): ConvoStore loads it as CSV (`importRates`), the SQLite engine
/// prices with it through ``HarnessTariffs``, an implementation of its own of docs/pricing.md.
///
/// Four versions: 2026-07-01 and a mid-month change on 2026-09-30 at 12:00 (both price September's
/// part of the workload, whose ranks run across the change), 2026-10-01 (October, with service
/// rates) and 2027-01-01 (in force after the workload, never used). Tiers start low (utility 11,
/// 101, 1,001; authentication 11, 101, 501) so that busy businesses cross them. Rows are missing on
/// purpose, so every fallback of R7 is taken: ID and MX have no row before October (their `other`
/// rows apply), BR and `other` have no authentication row before October (the store's default),
/// north_america and DE have none in October (`other`'s), BR and north_america have no service row
/// (BR's utility base rate; `other`'s service row).
enum HarnessRateCard {
    struct Row: Sendable {
        var effectiveFrom: Int64
        var market: String
        /// ChargeCategory's raw value: marketing 0, utility 1, authentication 2, service 3.
        var category: Int
        var tierFrom: Int64
        var rate: Int64
    }

    static let categoryNames = ["marketing", "utility", "authentication", "service"]
    /// The store's default rate card (R4's defaults; service takes utility's).
    static let defaults: [Int64] = [25_000, 4_000, 4_000, 4_000]

    static let july: Int64 = 1_782_864_000_000  // 2026-07-01
    static let midSeptember30: Int64 = 1_790_769_600_000  // 2026-09-30T12:00:00Z
    static let october: Int64 = 1_790_812_800_000  // 2026-10-01
    static let january2027: Int64 = 1_798_761_600_000  // 2027-01-01

    static let rows: [Row] = {
        var rows: [Row] = []
        func add(_ at: Int64, _ market: String, _ category: Int, _ tiers: [(Int64, Int64)]) {
            for (from, rate) in tiers { rows.append(Row(effectiveFrom: at, market: market, category: category, tierFrom: from, rate: rate)) }
        }
        let (marketing, utility, authentication, service) = (0, 1, 2, 3)
        for (at, cut) in [(Self.july, Int64(0)), (Self.midSeptember30, Int64(100))] {
            add(at, "IN", marketing, [(1, 10_700)])
            add(at, "IN", utility, [(1, 1_400 - cut), (11, 1_200 - cut), (101, 1_000 - cut), (1_001, 800 - cut)])
            add(at, "IN", authentication, [(1, 1_400), (11, 1_250), (101, 1_100), (501, 1_000)])
            add(at, "BR", marketing, [(1, 62_500)])
            add(at, "BR", utility, [(1, 6_800), (11, 6_300 - cut)])
            add(at, "north_america", marketing, [(1, 25_000)])
            add(at, "north_america", utility, [(1, 3_400)])
            add(at, "north_america", authentication, [(1, 1_350), (11, 1_200)])
            add(at, "GB", marketing, [(1, 52_900)])
            add(at, "GB", utility, [(1, 2_200), (11, 2_000)])
            add(at, "DE", marketing, [(1, 136_500)])
            add(at, "DE", utility, [(1, 5_500)])
            add(at, "DE", authentication, [(1, 7_600)])
            add(at, "other", marketing, [(1, 60_400)])
            add(at, "other", utility, [(1, 7_700 - cut), (11, 7_000), (101, 6_500)])
        }
        let october = Self.october
        add(october, "IN", marketing, [(1, 11_800)])
        add(october, "IN", utility, [(1, 1_400), (11, 1_150), (101, 950), (1_001, 750)])
        add(october, "IN", authentication, [(1, 1_400), (11, 1_250), (101, 1_100), (501, 1_000)])
        add(october, "IN", service, [(1, 1_400)])
        add(october, "BR", marketing, [(1, 62_500)])
        add(october, "BR", utility, [(1, 6_800), (11, 6_300), (101, 5_900)])
        add(october, "BR", authentication, [(1, 6_800), (11, 6_000)])
        add(october, "ID", marketing, [(1, 41_100)])
        add(october, "ID", utility, [(1, 2_500), (11, 2_300), (101, 2_100)])
        add(october, "ID", authentication, [(1, 3_000)])
        add(october, "ID", service, [(1, 2_500)])
        add(october, "north_america", marketing, [(1, 25_000)])
        add(october, "north_america", utility, [(1, 3_400), (11, 3_000)])
        add(october, "GB", marketing, [(1, 52_900)])
        add(october, "GB", utility, [(1, 2_200), (11, 2_000), (101, 1_800)])
        add(october, "GB", service, [(1, 2_200)])
        add(october, "DE", marketing, [(1, 136_500)])
        add(october, "DE", utility, [(1, 5_500)])
        add(october, "DE", service, [(1, 5_500)])
        add(october, "MX", marketing, [(1, 30_500)])
        add(october, "MX", utility, [(1, 850)])
        add(october, "other", marketing, [(1, 60_400)])
        add(october, "other", utility, [(1, 7_700), (11, 7_000), (101, 6_500)])
        add(october, "other", authentication, [(1, 7_600), (11, 7_000)])
        add(october, "other", service, [(1, 3_000)])
        add(Self.january2027, "IN", marketing, [(1, 12_000)])
        add(Self.january2027, "other", marketing, [(1, 61_000)])
        return rows
    }()

    /// The card as docs/contract.md's CSV: `effective_from` a date when it is midnight UTC, else a date-time.
    static var csv: String {
        var out = "effective_from,market,category,tier_from,rate_micros\n"
        for row in Self.rows {
            out += "\(Self.rfc3339(row.effectiveFrom)),\(row.market),\(Self.categoryNames[row.category]),\(row.tierFrom),\(row.rate)\n"
        }
        return out
    }

    private static func rfc3339(_ millis: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        if millis % 86_400_000 == 0 {
            formatter.formatOptions = [.withFullDate]
        } else {
            formatter.formatOptions = [.withInternetDateTime]
        }
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}

/// R7's prices as the SQLite engine computes them (docs/pricing.md, "Rate cards"), written from the
/// rule, not from ConvoStore's code: the version in force at `t`, the rows of (market, category), else
/// (`other`, category), for service else the market's utility base rate (found the same way), else
/// the default; the rate of the largest `tier_from <= rank`, tiers for utility and authentication only.
struct HarnessTariffs: Sendable {
    /// Versions by `effectiveFrom`, each: market -> category -> tiers `(from, rate)` ascending.
    private let versions: [(from: Int64, rows: [String: [Int: [(from: Int64, rate: Int64)]]])]
    /// Whether a card is loaded (the no-card variant prices with the defaults alone).
    let loaded: Bool

    init(rows: [HarnessRateCard.Row]) {
        var byVersion: [Int64: [String: [Int: [(from: Int64, rate: Int64)]]]] = [:]
        for row in rows { byVersion[row.effectiveFrom, default: [:]][row.market, default: [:]][row.category, default: []].append((row.tierFrom, row.rate)) }
        self.versions = byVersion.keys.sorted().map { from in
            (from, byVersion[from]!.mapValues { $0.mapValues { $0.sorted { $0.from < $1.from } } })
        }
        self.loaded = !rows.isEmpty
    }

    /// The price of the charged message of `rank` in its (business, market, category, UTC month), at `t`.
    func price(market: String, category: Int, at t: Int64, rank: Int64) -> Int64 {
        guard let version = self.versions.last(where: { $0.from <= t }) else { return HarnessRateCard.defaults[category] }
        func rows(_ category: Int) -> [(from: Int64, rate: Int64)]? {
            version.rows[market]?[category] ?? version.rows["other"]?[category]
        }
        guard let tiers = rows(category) else {
            if category == 3, let utility = rows(1) { return utility[0].rate }
            return HarnessRateCard.defaults[category]
        }
        guard category == 1 || category == 2 else { return tiers[0].rate }
        var rate = tiers[0].rate
        for tier in tiers where tier.from <= rank { rate = tier.rate }
        return rate
    }
}

/// Whole UTC months since 1970 (year * 12 + month), the period of R7's volume ranks.
enum UTCMonth {
    static func of(_ millis: Int64) -> Int {
        var days = Int(millis >= 0 ? millis / 86_400_000 : (millis - 86_399_999) / 86_400_000)
        // Civil from days (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return year * 12 + month - 1
    }
}
