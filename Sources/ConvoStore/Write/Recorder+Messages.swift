import LMDB

// Recording a message, step by step: the idempotency check, the inbound or outbound update of the
// conversation's state (R1-R4), a status that arrived first (R6), the record and its charge, the
// entry point (R3), then the re-classification a late event calls for, and the save.

extension Recorder {
    /// Records a message. Live, an outbound that breaks a rule is refused and nothing is written;
    /// in history (`live == false`) it is kept and counted under its violation.
    /// Its limits must have been checked (``Limits/validate(_:)-(Message)``).
    func record(_ message: Message, live: Bool) throws -> SendResult {
        let key = ConversationKey(business: message.business, customer: message.customer)
        let idKey = Keys.messageID(business: key.business, id: [UInt8](utf8: message.id))
        var record = MessageRecord(message)
        let old = try self.reader.conversation(key: key.encoded)
        if let earlier = try self.earlierRecording(of: message, idKey: idKey, record: record, conversation: old) { return earlier }

        var c = self.conversationOrNew(old)
        var reclassify = ReclassifyRange()
        switch message.direction {
        case .inbound:
            self.applyInbound(at: message.at, to: &c, old: old, reclassify: &reclassify)
        case .outbound:
            let outcome = try self.classifyOutbound(message, in: &c, reclassify: &reclassify)
            if live, case .violation(let violation) = outcome { return .refused(violation) }
            record.outcome = outcome
        }
        try self.takePendingStatus(idKey: idKey, into: &record)
        let seq = self.takeSeq()
        try self.store(record, at: message.at, seq: seq, idKey: idKey, conversation: c.id, business: key.business)
        if message.direction == .inbound, message.entryPoint != nil {
            try self.applyEntryPoint(at: message.at, to: &c, reclassify: &reclassify)
        }
        try self.reclassify(c, business: key.business, range: reclassify)
        try self.save(c, old: old, key: key)
        guard let outcome = record.outcome else { return .sent(.free, amountMicros: 0) }
        return .sent(outcome, amountMicros: self.reader.amount(for: outcome))
    }

    /// A message id already recorded: `.duplicate` when it is the same message, else rejected.
    private func earlierRecording(
        of message: Message, idKey: [UInt8], record: MessageRecord, conversation: ConversationRecord?
    ) throws -> SendResult? {
        guard let raw = try self.txn.get(self.db.messageIDs, key: idKey) else { return nil }
        let key = try MessageKey(decoding: raw, database: "messageIDs")
        guard let storedRaw = try self.txn.get(self.db.messages, key: key.encoded) else {
            throw ConvoStoreError.corruptRecord(database: "messageIDs", detail: "points to a missing message")
        }
        let stored = try MessageRecord(decoding: storedRaw)
        if conversation?.id == key.conversation, key.at == message.at, stored.sameContent(as: record) { return .duplicate }
        return .rejected(.conflictingMessage(business: message.business, id: message.id))
    }

    /// R1, R2: an inbound message opens or refreshes the window and, unless answered at or after its
    /// time, waits for a reply. A late one may change the class of later outbound messages.
    private func applyInbound(at t: Int64, to c: inout ConversationRecord, old: ConversationRecord?, reclassify: inout ReclassifyRange) {
        c.messagesIn += 1
        c.firstIn = min(c.firstIn ?? t, t)
        c.lastIn = max(c.lastIn ?? t, t)
        if c.lastOut.map({ t > $0 }) ?? true {
            c.waitingSince = min(c.waitingSince ?? t, t)
        }
        if let lastOut = c.lastOut, lastOut >= t {
            // A late inbound: outbound messages after it may change class (window, consent).
            reclassify.add(t, t + self.settings.windowMillis)
            if old?.firstIn.map({ t < $0 }) ?? true { reclassify.add(t, (old?.firstIn ?? lastOut) + 1) }
        }
    }

    /// R2, R3, R4: an outbound message answers what waits before it, may open the free entry point
    /// window, and is classified at its time.
    private func classifyOutbound(_ message: Message, in c: inout ConversationRecord, reclassify: inout ReclassifyRange) throws -> SendOutcome {
        let t = message.at
        c.messagesOut += 1
        if c.lastOut.map({ t > $0 }) ?? true {
            c.lastOut = t
            // Pending inbound are those after the answer; none if the customer last wrote at or before it.
            c.waitingSince = c.lastIn.map { $0 > t } ?? false ? try self.reader.earliest(.inbound, of: c.id, from: t + 1) : nil
        }
        let freeStart = self.reader.prospectiveFreeWindowStart(c, sendingAt: t)
        let context = try self.reader.sendContext(c, at: t, controls: try self.reader.controlsIfAny(c), freeWindowStart: freeStart)
        let outcome = SendRules.classify(isTemplate: message.isTemplate, category: message.category, context: context)
        if freeStart != c.freeWindowStart, let freeStart {
            // This send opens the free window earlier: later sends may become free, and the
            // old window's sends may no longer be.
            if let oldStart = c.freeWindowStart { reclassify.add(oldStart, oldStart + self.settings.freeEntryWindowMillis) }
            reclassify.add(freeStart + 1, freeStart + self.settings.freeEntryWindowMillis)
            c.freeWindowStart = freeStart
        }
        return outcome
    }

    /// R6: a status that arrived before its message joins it now.
    private func takePendingStatus(idKey: [UInt8], into record: inout MessageRecord) throws {
        guard self.pendingStatuses > 0, let raw = try self.txn.get(self.db.pendingStatus, key: idKey) else { return }
        let pending = try PendingStatus(decoding: raw)
        record.status = pending.status
        record.statusAt = pending.at
        try self.txn.delete(self.db.pendingStatus, key: idKey)
        self.pendingStatuses -= 1
    }

    /// Writes the message, its id entry and, for an outbound one, its billing entry.
    private func store(_ record: MessageRecord, at t: Int64, seq: UInt64, idKey: [UInt8], conversation: UInt32, business: [UInt8]) throws {
        let keyBytes = MessageKey(conversation: conversation, direction: record.direction, at: t, seq: seq).encoded
        try self.txn.put(self.db.messages, key: keyBytes, value: record.encoded())
        try self.txn.put(self.db.messageIDs, key: idKey, value: keyBytes)
        if let outcome = record.outcome {
            let entry = BillingEntry(outcome: outcome, amount: self.reader.amount(for: outcome), conversation: conversation)
            try self.txn.put(self.db.billing, key: Keys.billing(business: business, at: t, seq: seq), value: entry.encoded())
        }
    }

    /// R3: the first entry point by time is the only one that counts; the first outbound within the
    /// reply time after it opens the free window.
    private func applyEntryPoint(at t: Int64, to c: inout ConversationRecord, reclassify: inout ReclassifyRange) throws {
        guard c.freeEntryAt.map({ t < $0 }) ?? true else { return }
        c.freeEntryAt = t
        let newStart = try self.reader.earliest(.outbound, of: c.id, from: t, before: t + self.settings.freeEntryReplyMillis)
        if newStart != c.freeWindowStart {
            for start in [c.freeWindowStart, newStart].compactMap({ $0 }) {
                reclassify.add(start, start + self.settings.freeEntryWindowMillis)
            }
            c.freeWindowStart = newStart
        }
    }
}
