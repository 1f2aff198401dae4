import LMDB

// Late and out-of-order events: an event that changes the facts R4 reads (a late inbound, a control,
// an earlier free entry point window) re-derives the class of the outbound messages it can affect,
// and moves their charges with them, so the state is that of the time-ordered history.

extension Recorder {
    /// Re-classifies the conversation's outbound messages with time in `range`.
    func reclassify(_ c: ConversationRecord, business: [UInt8], range: ReclassifyRange, controls preloaded: [RecordedControl]? = nil) throws {
        guard let lower = range.lower, let upper = range.upper, lower < upper, c.messagesOut > 0 else { return }
        let controls = try preloaded ?? self.reader.controlsIfAny(c)
        var changes: [(key: [UInt8], record: MessageRecord, at: Int64, seq: UInt64)] = []
        let from = Keys.messageBound(conversation: c.id, direction: .outbound, at: lower)
        let to = upper == .max
            ? BigEndian.bytes(c.id) + [Direction.outbound.rawValue + 1]
            : Keys.messageBound(conversation: c.id, direction: .outbound, at: upper)
        try self.txn.forEach(self.db.messages, from: .inclusive(from), to: .exclusive(to)) { key, value in
            let parsed = try MessageKey(decoding: key)
            var record = try MessageRecord(decoding: value)
            let context = try self.reader.sendContext(c, at: parsed.at, controls: controls, freeWindowStart: c.freeWindowStart)
            let outcome = SendRules.classify(isTemplate: record.isTemplate, category: record.category, context: context)
            if outcome != record.outcome {
                record.outcome = outcome
                changes.append((Array(key), record, parsed.at, parsed.seq))
            }
            return true
        }
        // Written after the walk: a put must not run under the cursor.
        for change in changes {
            try self.txn.put(self.db.messages, key: change.key, value: change.record.encoded())
            let outcome = change.record.outcome!
            let entry = BillingEntry(outcome: outcome, amount: self.reader.amount(for: outcome), conversation: c.id)
            try self.txn.put(self.db.billing, key: Keys.billing(business: business, at: change.at, seq: change.seq), value: entry.encoded())
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
