import LMDB

// The scans of R2 over the time-ordered indexes (KeyLayout.swift): each is a cursor walk between two
// bounds, O(log n + results) whatever the store's size. Each comes as a walk that hands results to a
// closure as it goes (memory flat, for long lists) and as an array with a limit; the newly-overdue
// walk also hands out entries read in place, for callers that need no String (``WaitingEntry``).
//
// Query times may be anything an Int64 holds: they are clamped to the range a stored time can take
// (Limits.queryTimes), so that no bound overflows.

extension StoreReader {
    /// Calls `body` with each conversation overdue at `asOf` (R2), by (replyDueAt, business,
    /// customer), or only `business`'s, until it returns `false`.
    public func forEachOverdue(asOf: Int64, business: String? = nil, _ body: (WaitingConversation) throws -> Bool) throws {
        let started = StoreMetrics.shared.start()
        defer { StoreMetrics.shared.scanned(.overdue, since: started) }
        let asOf = Limits.clampQuery(asOf)
        if let business {
            try self.forEachWaiting(business: business, dueAtOrBefore: asOf, body)
        } else {
            try self.forEachWaitingEntry(dueAfter: nil, dueAtOrBefore: asOf) { try body(try $0.conversation) }
        }
    }

    /// Conversations overdue at `asOf` (R2), by (replyDueAt, business, customer), at most `limit`.
    public func overdue(asOf: Int64, business: String? = nil, limit: Int = .max) throws -> [WaitingConversation] {
        try Self.collect(limit) { body in try self.forEachOverdue(asOf: asOf, business: business, body) }
    }

    /// Calls `body` with each conversation whose reply fell due in `(after, until]` (R2), by
    /// (replyDueAt, business, customer), until it returns `false`.
    public func forEachNewlyOverdue(after: Int64, until: Int64, _ body: (WaitingConversation) throws -> Bool) throws {
        try self.forEachNewlyOverdueEntry(after: after, until: until) { try body(try $0.conversation) }
    }

    /// The walk of ``forEachNewlyOverdue(after:until:_:)`` with each entry read in place: no id is
    /// decoded unless `body` asks an entry for one (``WaitingEntry``).
    public func forEachNewlyOverdueEntry(after: Int64, until: Int64, _ body: (borrowing WaitingEntry) throws -> Bool) throws {
        let started = StoreMetrics.shared.start()
        defer { StoreMetrics.shared.scanned(.newlyOverdue, since: started) }
        let (after, until) = (Limits.clampQuery(after), Limits.clampQuery(until))
        guard after < until else { return }
        try self.forEachWaitingEntry(dueAfter: after, dueAtOrBefore: until, body)
    }

    /// Conversations whose reply fell due in `(after, until]` (R2), at most `limit`.
    public func newlyOverdue(after: Int64, until: Int64, limit: Int = .max) throws -> [WaitingConversation] {
        try Self.collect(limit) { body in try self.forEachNewlyOverdue(after: after, until: until, body) }
    }

    /// A business's waiting conversations by reply due time, overdue or not: an agent's inbox.
    public func inbox(business: String, limit: Int = .max) throws -> [WaitingConversation] {
        try Self.collect(limit) { body in try self.forEachWaiting(business: business, dueAtOrBefore: Limits.queryTimes.upperBound, body) }
    }

    /// Calls `body` with each conversation whose window closes in `[from, to)` (R1), by
    /// (windowExpiresAt, business, customer), or only `business`'s, until it returns `false`.
    public func forEachWindowClosing(from: Int64, to: Int64, business: String? = nil, _ body: (ClosingWindow) throws -> Bool) throws {
        let started = StoreMetrics.shared.start()
        defer { StoreMetrics.shared.scanned(.windows, since: started) }
        let (from, to) = (Limits.clampQuery(from), Limits.clampQuery(to))
        guard from < to else { return }
        if let business {
            let b = [UInt8](utf8: business)
            try self.txn.forEach(
                self.db.expiryByBusiness, from: .inclusive(Keys.businessTimeBound(business: b, time: from)),
                to: .exclusive(Keys.businessTimeBound(business: b, time: to))
            ) { key, _ in
                let entry = try Keys.decodeByBusiness(key, database: "expiryByBusiness")
                return try body(ClosingWindow(business: business, customer: entry.customer, windowExpiresAt: entry.time))
            }
            return
        }
        try self.txn.forEach(self.db.expiryByTime, from: .inclusive(Keys.time(from)), to: .exclusive(Keys.time(to))) { key, _ in
            let entry = try Keys.decodeByTime(key, database: "expiryByTime")
            return try body(ClosingWindow(business: entry.business, customer: entry.customer, windowExpiresAt: entry.time))
        }
    }

    /// Conversations whose window closes in `[from, to)` (R1), at most `limit`.
    public func windowsClosing(from: Int64, to: Int64, business: String? = nil, limit: Int = .max) throws -> [ClosingWindow] {
        try Self.collect(limit) { body in try self.forEachWindowClosing(from: from, to: to, business: business, body) }
    }

    /// Counts of the overdue index up to `asOf` without building results (for benchmarks and dashboards).
    public func countOverdue(asOf: Int64) throws -> Int {
        var count = 0
        try self.txn.forEach(self.db.dueByTime, to: .exclusive(Keys.time(Limits.clampQuery(asOf) + 1))) { _, _ in
            count += 1
            return true
        }
        return count
    }

    // MARK: Index walks

    /// Up to `limit` results of a walk.
    private static func collect<T>(_ limit: Int, _ walk: ((T) throws -> Bool) throws -> Void) throws -> [T] {
        var out: [T] = []
        guard limit > 0 else { return out }
        try walk { item in
            out.append(item)
            return out.count < limit
        }
        return out
    }

    /// The time-first due index: due in `(dueAfter, dueAtOrBefore]` (clamped times, so `+ 1` cannot overflow).
    private func forEachWaitingEntry(dueAfter: Int64?, dueAtOrBefore: Int64, _ body: (borrowing WaitingEntry) throws -> Bool) throws {
        let lower: KeyBound = dueAfter.map { .inclusive(Keys.time($0 + 1)) } ?? .unbounded
        try self.txn.forEach(self.db.dueByTime, from: lower, to: .exclusive(Keys.time(dueAtOrBefore + 1))) { key, value in
            try body(try WaitingEntry(key: key, value: value))
        }
    }

    /// The business-first due index of `business` up to a due time.
    private func forEachWaiting(business: String, dueAtOrBefore: Int64, _ body: (WaitingConversation) throws -> Bool) throws {
        let b = [UInt8](utf8: business)
        try self.txn.forEach(
            self.db.dueByBusiness, from: .inclusive(Keys.business(b)),
            to: .exclusive(Keys.businessTimeBound(business: b, time: dueAtOrBefore + 1))
        ) { key, value in
            let entry = try Keys.decodeByBusiness(key, database: "dueByBusiness")
            let waitingSince = try Keys.decodeWaitingSince(value, database: "dueByBusiness")
            return try body(WaitingConversation(business: business, customer: entry.customer, waitingSince: waitingSince, replyDueAt: entry.time))
        }
    }
}
