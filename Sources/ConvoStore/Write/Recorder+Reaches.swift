import LMDB

// R8's upkeep (Read/Reaches.swift says what is kept and why): a reach added or removed changes its own
// interval and the one before it in its conversation, so two intervals' edges move and the counts of
// at most two midnights change.

extension Recorder {
    /// Records a reach of conversation `c` at `t`.
    func addReach(conversation c: ConversationRecord, business: [UInt8], at t: Int64) throws {
        let count = try self.reader.reachCount(of: c.id, at: t)
        try self.txn.put(self.db.reaches, key: Keys.reach(conversation: c.id, at: t), value: BigEndian.bytes(count + 1))
        guard count == 0 else { return }  // another template of the same millisecond: no new interval
        let previous = try self.previousReach(of: c, before: t)
        let next = try self.reader.neighbourReach(of: c.id, from: t, forward: true, inclusive: false)
        let end = Self.intervalEnd(start: t, next: next)
        try self.addInterval(business: business, conversation: c.id, start: t, end: end)
        if let previous {
            // The previous interval now ends at this reach, if it did not end before it.
            try self.moveEnd(business: business, conversation: c.id, start: previous,
                             from: Self.intervalEnd(start: previous, next: next), to: Self.intervalEnd(start: previous, next: t))
        }
    }

    /// Removes a reach of conversation `c` at `t` (its template failed, or is no longer sent with the
    /// window closed).
    func removeReach(conversation c: ConversationRecord, business: [UInt8], at t: Int64) throws {
        let count = try self.reader.reachCount(of: c.id, at: t)
        guard count > 0 else { throw ConvoStoreError.corruptRecord(database: "reaches", detail: "a reach of conversation \(c.id) at \(t) is missing") }
        if count > 1 {
            try self.txn.put(self.db.reaches, key: Keys.reach(conversation: c.id, at: t), value: BigEndian.bytes(count - 1))
            return
        }
        try self.txn.delete(self.db.reaches, key: Keys.reach(conversation: c.id, at: t))
        let previous = try self.previousReach(of: c, before: t)
        let next = try self.reader.neighbourReach(of: c.id, from: t, forward: true, inclusive: false)
        try self.removeInterval(business: business, conversation: c.id, start: t, end: Self.intervalEnd(start: t, next: next))
        if let previous {
            try self.moveEnd(business: business, conversation: c.id, start: previous,
                             from: Self.intervalEnd(start: previous, next: t), to: Self.intervalEnd(start: previous, next: next))
        }
    }

    /// The reach before `t` in a conversation, kept or (its latest) purged.
    private func previousReach(of c: ConversationRecord, before t: Int64) throws -> Int64? {
        try self.reader.neighbourReach(of: c.id, from: t, forward: false, inclusive: false) ?? c.purged?.lastReach.flatMap { $0 < t ? $0 : nil }
    }

    /// A reach at `start` counts until the next reach or for 24 hours, whichever ends first.
    static func intervalEnd(start: Int64, next: Int64?) -> Int64 {
        min(next ?? .max, start + 86_400_000)
    }

    private func addInterval(business: [UInt8], conversation: UInt32, start: Int64, end: Int64) throws {
        try self.putEdge(business: business, edge: .start, at: start, conversation: conversation)
        try self.putEdge(business: business, edge: .end, at: end, conversation: conversation, start: start)
        try self.adjustReachMidnights(business: business, from: start, to: end, by: 1)
    }

    private func removeInterval(business: [UInt8], conversation: UInt32, start: Int64, end: Int64) throws {
        try self.deleteEdge(business: business, edge: .start, at: start, conversation: conversation)
        try self.deleteEdge(business: business, edge: .end, at: end, conversation: conversation, start: start)
        try self.adjustReachMidnights(business: business, from: start, to: end, by: -1)
    }

    /// Moves the end of the interval starting at `start` from `old` to `new`. An interval whose edges
    /// a purge removed ended long before any reach that can still be added, so its end never moves.
    private func moveEnd(business: [UInt8], conversation: UInt32, start: Int64, from old: Int64, to new: Int64) throws {
        guard old != new else { return }
        guard try self.deleteEdge(business: business, edge: .end, at: old, conversation: conversation, start: start) else { return }
        try self.putEdge(business: business, edge: .end, at: new, conversation: conversation, start: start)
        if new < old {
            try self.adjustReachMidnights(business: business, from: new, to: old, by: -1)
        } else {
            try self.adjustReachMidnights(business: business, from: old, to: new, by: 1)
        }
    }

    private func putEdge(business: [UInt8], edge: ReachEdge, at t: Int64, conversation: UInt32, start: Int64? = nil) throws {
        try self.txn.put(
            self.db.reachEdges, key: Keys.reachEdge(business: business, edge: edge, minute: UTCCalendar.minute(t)),
            value: Keys.reachEdgeValue(at: t, conversation: conversation, start: start))
    }

    @discardableResult
    func deleteEdge(business: [UInt8], edge: ReachEdge, at t: Int64, conversation: UInt32, start: Int64? = nil) throws -> Bool {
        try self.txn.delete(
            self.db.reachEdges, key: Keys.reachEdge(business: business, edge: edge, minute: UTCCalendar.minute(t)),
            value: Keys.reachEdgeValue(at: t, conversation: conversation, start: start))
    }

    /// Adds `delta` to the count of every UTC midnight in `[from, to)` (at most two: intervals last
    /// 24 hours at most).
    func adjustReachMidnights(business: [UInt8], from: Int64, to: Int64, by delta: Int32) throws {
        var day = UTCCalendar.day(from)
        if UTCCalendar.start(ofDay: day) < from { day += 1 }
        while UTCCalendar.start(ofDay: day) < to {
            let key = Keys.reachDay(business: business, day: day)
            let current = Int64(try self.reader.reachDay(business: business, day: day))
            let updated = current + Int64(delta)
            guard updated >= 0 else { throw ConvoStoreError.corruptRecord(database: "reachDays", detail: "a count below zero") }
            if updated == 0 {
                try self.txn.delete(self.db.reachDays, key: key)
            } else {
                try self.txn.put(self.db.reachDays, key: key, value: BigEndian.bytes(UInt32(updated)))
            }
            day += 1
        }
    }
}

extension Recorder {
    /// The interval of a conversation's latest purged reach, imported from its summary: it runs
    /// until the conversation's first kept reach or for 24 hours.
    func addPurgedReachInterval(conversation c: ConversationRecord, business: [UInt8], at t: Int64) throws {
        let next = try self.reader.neighbourReach(of: c.id, from: t, forward: true, inclusive: false)
        let end = Self.intervalEnd(start: t, next: next)
        try self.txn.put(
            self.db.reachEdges, key: Keys.reachEdge(business: business, edge: .start, minute: UTCCalendar.minute(t)),
            value: Keys.reachEdgeValue(at: t, conversation: c.id))
        try self.txn.put(
            self.db.reachEdges, key: Keys.reachEdge(business: business, edge: .end, minute: UTCCalendar.minute(end)),
            value: Keys.reachEdgeValue(at: end, conversation: c.id, start: t))
        try self.adjustReachMidnights(business: business, from: t, to: end, by: 1)
    }
}
