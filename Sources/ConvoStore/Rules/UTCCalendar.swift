// The calendar of R7's volume tiers and of the stored day and minute buckets: UTC days and months.

/// Days, minutes and months in UTC, from epoch milliseconds (non-negative, as every stored time is).
enum UTCCalendar {
    static let dayMillis: Int64 = 86_400_000
    static let minuteMillis: Int64 = 60_000

    /// The whole days since the epoch.
    static func day(_ ms: Int64) -> UInt32 { UInt32(ms / dayMillis) }

    /// The start of a day, in epoch milliseconds.
    static func start(ofDay day: UInt32) -> Int64 { Int64(day) * dayMillis }

    /// The whole minutes since the epoch.
    static func minute(_ ms: Int64) -> UInt32 { UInt32(ms / minuteMillis) }

    /// The first day of the month that holds `day`.
    static func monthStart(ofDay day: UInt32) -> UInt32 {
        let (y, m, _) = Timestamp.civilFromDays(Int(day))
        return UInt32(Timestamp.daysFromCivil(year: y, month: m, day: 1))
    }

    /// The first day of the month after the one that holds `day`.
    static func nextMonthStart(ofDay day: UInt32) -> UInt32 {
        let (y, m, _) = Timestamp.civilFromDays(Int(day))
        return UInt32(m == 12 ? Timestamp.daysFromCivil(year: y + 1, month: 1, day: 1) : Timestamp.daysFromCivil(year: y, month: m + 1, day: 1))
    }
}
