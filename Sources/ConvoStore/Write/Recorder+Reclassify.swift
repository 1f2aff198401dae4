import LMDB

// Late and out-of-order events: an event that changes the facts R4 reads (a late inbound, a control,
// an earlier free entry point window, a failed answer) re-derives the class of the outbound
// messages it can affect, and whether each reaches its customer (R8), and moves their charge
// entries and reaches with them, so the state is that of the time-ordered history.

extension Recorder {
    /// Re-classifies the conversation's outbound messages with time in `range`. Failed ones have no
    /// class to change (R6) and are skipped.
    func reclassify(_ c: ConversationRecord, key: ConversationKey, range: ReclassifyRange, controls preloaded: [RecordedControl]? = nil) throws {
        guard let lower = range.lower, let upper = range.upper, lower < upper, c.messagesOut > 0 else { return }
        let controls = try preloaded ?? self.reader.controlsIfAny(c)
        var changes: [(key: MessageKey, before: MessageRecord, after: MessageRecord)] = []
        let from = Keys.messageBound(conversation: c.id, direction: .outbound, at: max(lower, 0))
        let to = upper == .max
            ? BigEndian.bytes(c.id) + [Direction.outbound.rawValue + 1]
            : Keys.messageBound(conversation: c.id, direction: .outbound, at: upper)
        try self.txn.forEach(self.db.messages, from: .inclusive(from), to: .exclusive(to)) { rawKey, value in
            let record = try MessageRecord(decoding: value)
            guard !record.isFailed else { return true }
            let messageKey = try MessageKey(decoding: rawKey)
            let context = try self.reader.sendContext(c, at: messageKey.at, controls: controls, freeWindowStart: c.freeWindowStart)
            var after = record
            after.outcome = SendRules.classify(isTemplate: record.isTemplate, category: record.category, context: context)
            after.isReach = SendRules.isReach(isTemplate: record.isTemplate, outcome: after.outcome!, context: context)
            if after != record { changes.append((messageKey, record, after)) }
            return true
        }
        // Written after the walk: a put must not run under the cursor.
        for change in changes {
            try self.txn.put(self.db.messages, key: change.key.encoded, value: change.after.encoded())
            try self.moveCharge(from: change.before, to: change.after, at: change.key.at, key: key)
            if change.after.isReach != change.before.isReach {
                if change.after.isReach {
                    try self.addReach(conversation: c, business: key.business, at: change.key.at)
                } else {
                    try self.removeReach(conversation: c, business: key.business, at: change.key.at)
                }
            }
        }
    }
}

/// The smallest time range covering every interval added: [lower, upper).
struct ReclassifyRange {
    var lower: Int64?
    var upper: Int64?

    mutating func add(_ from: Int64, _ to: Int64) {
        guard from < to else { return }
        self.lower = min(self.lower ?? from, from)
        self.upper = max(self.upper ?? to, to)
    }
}
