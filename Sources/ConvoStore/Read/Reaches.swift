import LMDB

// R8: reached(B, T), the distinct customers B reached in (T - 24 h, T], exact at any T for O(log n +
// 1,440) work, however many the business reaches a day.
//
// Each conversation's reach times r1 < r2 < ... give intervals [r_i, min(r_(i+1), r_i + 24 h)): the
// customer is counted at T exactly when T falls in one of them (its latest reach at or before T is
// within 24 hours), and one conversation's intervals never overlap. So reached(B, T) is the number
// of B's intervals that contain T: the number containing the UTC midnight D at or before T
// (`reachDays`), plus those starting in (D, T], minus those ending in (D, T]. Starts and ends are
// counted by minute in `reachEdges`, whose values per minute `mdb_cursor_count` gives in O(1): at
// most 1,440 minutes, and the values of the two partial minutes walked.

extension ConversationReader {
    /// The customers `business` reached in `(t - 24 h, t]` (R8).
    func reached(business: [UInt8], at t: Int64) throws -> Int64 {
        let day = UTCCalendar.day(t)
        let midnight = UTCCalendar.start(ofDay: day)
        let atMidnight = try self.reachDay(business: business, day: day)
        let starts = try self.edges(business: business, edge: .start, after: midnight, upTo: t)
        let ends = try self.edges(business: business, edge: .end, after: midnight, upTo: t)
        return Int64(atMidnight) + starts - ends
    }

    /// The intervals of `business` that contain the start of `day`.
    func reachDay(business: [UInt8], day: UInt32) throws -> UInt32 {
        guard let raw = try self.txn.get(self.db.reachDays, key: Keys.reachDay(business: business, day: day)) else { return 0 }
        guard raw.count == 4 else { throw ConvoStoreError.corruptRecord(database: "reachDays", detail: "value of \(raw.count) bytes") }
        return BigEndian.read(UInt32.self, from: raw)
    }

    /// How many edges of one kind fall in `(after, upTo]`: whole minutes by their count, the minutes
    /// at either end by their values.
    func edges(business: [UInt8], edge: ReachEdge, after: Int64, upTo: Int64) throws -> Int64 {
        guard upTo > after else { return 0 }
        let firstMinute = UTCCalendar.minute(after)
        let lastMinute = UTCCalendar.minute(upTo)
        let cursor = try self.txn.cursor(self.db.reachEdges)
        var count: Int64 = 0
        var entry = try cursor.seek(atOrAfter: Keys.reachEdge(business: business, edge: edge, minute: firstMinute))
        let prefix = Keys.reachEdge(business: business, edge: edge, minute: 0).dropLast(4)
        while let current = entry {
            guard current.key.count == prefix.count + 4, current.key.starts(with: prefix) else { break }
            let minute = BigEndian.read(UInt32.self, from: current.key, at: prefix.count)
            guard minute <= lastMinute else { break }
            if minute == firstMinute || minute == lastMinute {
                var value: Entry? = current
                while let v = value {
                    let at = try ChargeValue.time(of: v.value)  // (at, conv): the time comes first
                    if at > after && at <= upTo { count += 1 }
                    value = try cursor.nextDuplicate()
                }
            } else {
                count += Int64(try cursor.valueCount())
            }
            entry = try cursor.nextKey()
        }
        return count
    }

    /// Whether the customer of `c` is counted in reached(B, t): a reach of theirs in `(t - 24 h, t]`.
    func wasReached(_ c: ConversationRecord, at t: Int64) throws -> Bool {
        if let latest = try self.latestReach(of: c, atOrBefore: t) { return latest > t - 86_400_000 }
        return false
    }

    /// The latest reach of a conversation at or before `t`, purged ones included.
    func latestReach(of c: ConversationRecord, atOrBefore t: Int64) throws -> Int64? {
        if let kept = try self.neighbourReach(of: c.id, from: t, forward: false, inclusive: true) { return kept }
        return c.purged?.lastReach.flatMap { $0 <= t ? $0 : nil }
    }

    /// The nearest kept reach of a conversation before or after `t` (at `t` too when `inclusive`).
    func neighbourReach(of conversation: UInt32, from t: Int64, forward: Bool, inclusive: Bool) throws -> Int64? {
        let cursor = try self.txn.cursor(self.db.reaches)
        let found: Entry?
        if forward {
            found = try cursor.seek(atOrAfter: Keys.reach(conversation: conversation, at: inclusive ? t : t + 1))
        } else {
            found = try Keys.reach(conversation: conversation, at: inclusive ? t : t - 1).withUnsafeBytes { try cursor.seek(atOrBefore: $0) }
        }
        guard let found, found.key.count == 12, BigEndian.read(UInt32.self, from: found.key) == conversation else { return nil }
        return Int64(bitPattern: BigEndian.read(UInt64.self, from: found.key, at: 4))
    }

    /// How many reaches a conversation has at exactly `t` (templates of one millisecond).
    func reachCount(of conversation: UInt32, at t: Int64) throws -> UInt32 {
        guard let raw = try self.txn.get(self.db.reaches, key: Keys.reach(conversation: conversation, at: t)) else { return 0 }
        guard raw.count == 4 else { throw ConvoStoreError.corruptRecord(database: "reaches", detail: "value of \(raw.count) bytes") }
        return BigEndian.read(UInt32.self, from: raw)
    }
}
