import LMDB

// Billing (R4, R6, R7) from the `charges` database (KeyLayout.swift): counts of whole UTC days are
// one `mdb_cursor_count` each, and only the days a bound cuts are walked value by value. Amounts are
// computed, never stored: the charged messages of a (business, market, category, month) have ranks
// 1, 2, 3, ... in time order, so the messages of a range inside a month are the ranks between two
// prefix counts, and their total is a sum over the tiers (Tariff.total), split where a new version
// of the rate card takes effect. Cost: O(log n + days in the range, and in the month before its
// start + the values of the days its bounds cut), whatever the number of messages.

extension StoreReader {
    /// Charges, violations and failures of a business's outbound messages with time in `[from, to)`,
    /// priced with the rate card in force (R7).
    public func billing(business: String, from: Int64? = nil, to: Int64? = nil) throws -> BillingSummary {
        var summary = BillingSummary(business: business, from: from, to: to)
        let lower = Limits.clampQuery(from ?? 0)
        let upper = to.map(Limits.clampQuery) ?? (Limits.queryTimes.upperBound + 1)
        guard lower < upper else { return summary }
        let b = [UInt8](utf8: business)
        let book = try self.reader.rateBook()
        let cursor = try self.txn.cursor(self.db.charges)
        let prefix = Keys.business(b)
        var entry = try cursor.seek(atOrAfter: prefix)
        while let found = entry, found.key.starts(with: prefix) {
            let first = try ChargeKey(decoding: found.key)
            let group = try ChargeGroup.load(cursor: cursor, business: b, market: first.market, billingClass: first.billingClass,
                                             lower: lower, upper: upper, book: book)
            group.add(to: &summary, lower: lower, upper: upper, book: book)
            // The next group: the same market's next class, or the next market.
            entry = try cursor.seek(atOrAfter: ChargeKey.bound(business: b, market: first.market, billingClass: first.billingClass, day: .max) + [0xFF])
        }
        return summary
    }
}

/// The days of one (business, market, billing class) that a billing query needs.
private struct ChargeGroup {
    struct Day {
        var day: UInt32
        var platform: PlatformClass
        var count: Int
        /// Each value's time, for a day a bound cuts (else nil).
        var times: [Int64]?
    }

    let market: Market
    let billingClass: BillingClass
    var days: [Day] = []

    /// Reads the group's keys from the first day needed (for charged classes, the first of the
    /// range's first month: ranks count from it) to the range's last day.
    static func load(
        cursor: Cursor, business: [UInt8], market: Market, billingClass: BillingClass, lower: Int64, upper: Int64, book: RateBook
    ) throws -> ChargeGroup {
        var group = ChargeGroup(market: market, billingClass: billingClass)
        let firstDay = billingClass.isCharged ? UTCCalendar.monthStart(ofDay: UTCCalendar.day(lower)) : UTCCalendar.day(lower)
        let lastDay = UTCCalendar.day(upper - 1)
        // Times inside a day where the count must be split: the bounds, and new rate card versions.
        let cuts = ([lower, upper] + (billingClass.isCharged ? book.changes(after: lower, before: upper) : []))
            .filter { $0 % UTCCalendar.dayMillis != 0 }
        let cutDays = Set(cuts.map(UTCCalendar.day))
        let groupBound = ChargeKey.bound(business: business, market: market, billingClass: billingClass, day: firstDay)
        let groupPrefix = groupBound.dropLast(4)
        var entry = try cursor.seek(atOrAfter: groupBound)
        while let found = entry, found.key.starts(with: groupPrefix) {
            let key = try ChargeKey(decoding: found.key)
            guard key.day <= lastDay else { break }
            var day = Day(day: key.day, platform: key.platform, count: try cursor.valueCount(), times: nil)
            if cutDays.contains(key.day) {
                var times: [Int64] = []
                var value: Entry? = found
                while let v = value {
                    times.append(try ChargeValue.time(of: v.value))
                    value = try cursor.nextDuplicate()
                }
                day.times = times
            }
            group.days.append(day)
            entry = try cursor.nextKey()
        }
        return group
    }

    /// The messages with time in `[from, to)`, of one platform class or of all.
    func count(from: Int64, to: Int64, platform: PlatformClass? = nil) -> Int {
        guard from < to else { return 0 }
        var total = 0
        for day in self.days where platform == nil || day.platform == platform {
            let start = UTCCalendar.start(ofDay: day.day)
            let end = start + UTCCalendar.dayMillis
            if start >= from && end <= to {
                total += day.count
            } else if end > from && start < to {
                total += day.times?.count { $0 >= from && $0 < to } ?? 0
            }
        }
        return total
    }

    func add(to summary: inout BillingSummary, lower: Int64, upper: Int64, book: RateBook) {
        for platform in PlatformClass.allCases {
            let n = self.count(from: lower, to: upper, platform: platform)
            guard n > 0 else { continue }
            if let category = platform.category {
                summary.platform.charged[category, default: 0] += n
            } else if platform == .free {
                summary.platform.free += n
            } else {
                summary.platform.unpriced += n
            }
        }
        switch self.billingClass {
        case .free: summary.free += self.count(from: lower, to: upper)
        case .failed: summary.failed += self.count(from: lower, to: upper)
        case .violation(let violation): summary.violations[violation, default: 0] += self.count(from: lower, to: upper)
        case .charged(let category):
            var market = summary.markets[self.market.name] ?? MarketCharges()
            // Only the months with a message in the range: ranks start again in each.
            let months = Set(self.days.map { UTCCalendar.monthStart(ofDay: $0.day) }).sorted()
            for month in months {
                let monthStart = UTCCalendar.start(ofDay: month)
                let from = max(lower, monthStart)
                let to = min(upper, UTCCalendar.start(ofDay: UTCCalendar.nextMonthStart(ofDay: month)))
                guard from < to else { continue }
                var rank = Int64(self.count(from: monthStart, to: from))
                let points = [from] + book.changes(after: from, before: to) + [to]
                for (start, end) in zip(points, points.dropFirst()) {
                    let n = Int64(self.count(from: start, to: end))
                    guard n > 0 else { continue }
                    let amount = book.tariff(market: self.market.name, category: category, version: book.version(at: start)).total(ranks: rank + 1, rank + n)
                    market.charged[category, default: 0] += Int(n)
                    market.amountMicros += amount
                    summary.charged[category, default: 0] += Int(n)
                    summary.amountMicros += amount
                    rank += n
                }
            }
            if !market.charged.isEmpty { summary.markets[self.market.name] = market }
        }
    }
}

extension BillingClass {
    var isCharged: Bool {
        if case .charged = self { return true }
        return false
    }
}

extension ConversationReader {
    /// The rank (R7) of the charged message `(t, id)` among the charged messages of its business,
    /// market and category in its UTC month: the counts of the month's earlier days, plus the
    /// messages of its day before it (walked back from the day's last value: a live send is last).
    func chargeRank(business: [UInt8], market: Market, category: ChargeCategory, at t: Int64, id: [UInt8]) throws -> Int64 {
        let day = UTCCalendar.day(t)
        let billingClass = BillingClass.charged(category)
        let cursor = try self.txn.cursor(self.db.charges)
        let groupBound = ChargeKey.bound(business: business, market: market, billingClass: billingClass, day: UTCCalendar.monthStart(ofDay: day))
        let groupPrefix = groupBound.dropLast(4)
        let target = ChargeValue.message(at: t, id: id).encoded()
        var rank: Int64 = 1
        var entry = try cursor.seek(atOrAfter: groupBound)
        while let found = entry, found.key.starts(with: groupPrefix) {
            let key = try ChargeKey(decoding: found.key)
            guard key.day <= day else { break }
            let count = try cursor.valueCount()
            if key.day < day {
                rank += Int64(count)
            } else {
                var atOrAfter = 0
                var value = try cursor.lastDuplicate()
                while let v = value, !v.value.lexicographicallyPrecedes(target) {
                    atOrAfter += 1
                    value = try cursor.previousDuplicate()
                }
                rank += Int64(count - atOrAfter)
            }
            entry = try cursor.nextKey()
        }
        return rank
    }
}
