import LMDB

// R6: statuses only move forward and `failed` is final, so the kept status is the highest; a status
// for a message not yet recorded waits for it in `pendingStatus`. A message that fails never reached
// the customer: it stops answering (R2), being charged or a violation, opening the free entry point
// window (R3) and reaching (R8); all of that is re-derived when the status arrives, however late.
// A status may carry the platform's pricing, kept with the message.

extension Recorder {
    /// Records a status. Its limits must have been checked (``Limits/validate(_:)-(StatusUpdate)``).
    ///
    /// A status belongs to its message: one for a kept message is recorded whatever its own time; one
    /// whose message is unknown is held to the horizon like any event (R9).
    func record(_ update: StatusUpdate) throws -> RecordResult {
        let business = [UInt8](utf8: update.business)
        let id = [UInt8](utf8: update.messageID)
        if let (messageKey, stored) = try self.reader.message(business: business, id: id) {
            var updated = stored
            let merged = Self.merge(stored.status.map { ($0, stored.statusAt ?? update.at) }, (update.status, update.at))
            updated.status = merged.0
            updated.statusAt = merged.1
            updated.pricing = Self.mergePricing(stored: stored, update: update)
            if updated == stored { return .duplicate }
            if stored.direction == .outbound {
                let key = try self.reader.conversationKey(id: messageKey.conversation)
                if updated.isFailed && !stored.isFailed {
                    try self.applyFailure(of: &updated, at: messageKey, key: key)
                }
                try self.moveCharge(from: stored, to: updated, at: messageKey.at, key: key)
            }
            try self.txn.put(self.db.messages, key: messageKey.encoded, value: updated.encoded())
            return .recorded
        }
        if let error = try self.horizonViolation(business: business, at: update.at) { return .rejected(error) }
        let pendingKey = Keys.pendingStatus(business: business, id: id)
        let current = try self.txn.get(self.db.pendingStatus, key: pendingKey).map { try PendingStatus(decoding: $0) }
        let merged = Self.merge(current.map { ($0.status, $0.at) }, (update.status, update.at))
        var pending = PendingStatus(status: merged.0, at: merged.1, pricing: current?.pricing)
        if let pricing = update.pricing, current?.pricing == nil || update.status >= (current?.status ?? .sent) { pending.pricing = pricing }
        if let current, current == pending { return .duplicate }
        try self.txn.put(self.db.pendingStatus, key: pendingKey, value: pending.encoded())
        if current == nil { self.pendingStatuses += 1 }
        return .recorded
    }

    /// A webhook status: records the outbound message it implies when its id is new, then the status.
    /// Both must have been validated.
    ///
    /// A message known only from its statuses takes the time and class its earliest status implies
    /// (at one time, a status whose pricing names a template category over one that does not), so
    /// that the statuses of one message give the same store in any order: an earlier status moves it.
    func recordOutboundStatus(_ update: StatusUpdate, impliedMessage: Message) throws -> RecordResult {
        if let (messageKey, stored) = try self.reader.message(business: [UInt8](utf8: update.business), id: [UInt8](utf8: update.messageID)) {
            guard stored.isImplied, Self.impliesEarlier(impliedMessage, than: stored, at: messageKey.at) else { return try self.record(update) }
            // What the statuses seen so far said, to carry over to the message in its new place.
            let carried = stored.status.map {
                StatusUpdate(business: update.business, messageID: update.messageID, status: $0, at: stored.statusAt ?? messageKey.at, pricing: stored.pricing)
            }
            try self.removeMessage(at: messageKey, record: stored, business: [UInt8](utf8: update.business))
            if case .rejected(let error) = try self.record(impliedMessage, live: false, implied: true) { return .rejected(error) }
            if let carried { _ = try self.record(carried) }
            _ = try self.record(update)
            return .recorded
        }
        switch try self.record(impliedMessage, live: false, implied: true) {
        case .rejected(let error): return .rejected(error)
        case .sent, .refused, .duplicate: break
        }
        _ = try self.record(update)
        return .recorded
    }

    /// Whether `implied` (from a new status) is what the message's statuses imply rather than `stored`:
    /// an earlier time, or at the same time a template where `stored` is not one.
    private static func impliesEarlier(_ implied: Message, than stored: MessageRecord, at t: Int64) -> Bool {
        if implied.at != t { return implied.at < t }
        if implied.isTemplate != stored.isTemplate { return implied.isTemplate }
        return implied.isTemplate && (implied.category?.rawValue ?? 0) < (stored.category?.rawValue ?? 0)
    }

    /// The higher status wins; for the same status, the earlier time (so the result is order-independent).
    static func merge(_ a: (MessageStatus, Int64)?, _ b: (MessageStatus, Int64)) -> (MessageStatus, Int64) {
        guard let a else { return b }
        if a.0 != b.0 { return a.0 > b.0 ? a : b }
        return a.1 <= b.1 ? a : b
    }

    /// The pricing a message keeps: that of its highest status that carried one (the first seen on
    /// a tie), so the result does not depend on the order statuses arrive in.
    static func mergePricing(stored: MessageRecord, update: StatusUpdate) -> PlatformPricing? {
        guard let pricing = update.pricing else { return stored.pricing }
        guard let kept = stored.pricing, let status = stored.status else { return pricing }
        return update.status > status ? pricing : kept
    }

    /// R6: the message at `messageKey` failed. It no longer answers, opens no free window and reaches
    /// nobody; the conversation's state and the classes it decided are re-derived.
    private func applyFailure(of record: inout MessageRecord, at messageKey: MessageKey, key: ConversationKey) throws {
        let old = try self.reader.conversation(id: messageKey.conversation)
        var c = old
        var reclassify = ReclassifyRange()
        if record.isReach {
            try self.removeReach(conversation: c, business: key.business, at: messageKey.at)
            record.isReach = false
        }
        record.outcome = nil  // a failed message has no class (R6)
        // Write the record first: the walks below must see it failed.
        try self.txn.put(self.db.messages, key: messageKey.encoded, value: record.encoded())
        if c.lastOut == messageKey.at {
            c.lastOut = try self.reader.latestAnswer(of: c)
            c.waitingSince = try self.reader.waitingSince(of: c, answeredAt: c.lastOut)
        }
        if c.freeWindowStart == messageKey.at, let entry = c.freeEntryAt {
            let newStart = try self.reader.earliestAnswer(of: c.id, from: entry, before: entry + self.settings.freeEntryReplyMillis)
            self.moveFreeWindow(of: &c, to: newStart, reclassify: &reclassify)
        }
        try self.reclassify(c, key: key, range: reclassify)
        try self.save(c, old: old, key: key)
    }
}
