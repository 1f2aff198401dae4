import LMDB

// Recording a message, step by step: the horizon and idempotency checks, a status that arrived first
// (R6: a failed one keeps the message from answering), the inbound or outbound update of the
// conversation's state (R1-R4, R8), the record with its charge entry and its reach, the entry point
// (R3), then the re-classification a late event calls for, and the save.

extension Recorder {
    /// Records a message. Live, an outbound that breaks a rule is refused and nothing is written;
    /// in history (`live == false`) it is kept and counted under its violation.
    /// Its limits must have been checked (``Limits/validate(_:)-(Message)``).
    func record(_ message: Message, live: Bool, implied: Bool = false) throws -> SendResult {
        let key = try self.conversationKey(business: message.business, customer: message.customer)
        if let error = try self.horizonViolation(business: key.business, at: message.at) { return .rejected(error) }
        let id = [UInt8](utf8: message.id)
        let pendingKey = Keys.pendingStatus(business: key.business, id: id)
        var record = MessageRecord(message)
        record.isImplied = implied
        let old = try self.reader.conversation(key: key.encoded)
        if let earlier = try self.earlierRecording(of: message, business: key.business, id: id, record: record, conversation: old) { return earlier }

        var c = self.conversationOrNew(old)
        let t = message.at
        var reclassify = ReclassifyRange()
        let pending = try self.pendingStatus(key: pendingKey)
        if let pending {
            record.status = pending.status
            record.statusAt = pending.at
            record.pricing = pending.pricing
        }
        switch message.direction {
        case .inbound:
            self.applyInbound(at: t, to: &c, old: old, reclassify: &reclassify)
        case .outbound:
            let decided = try self.classifyOutbound(message, failed: record.isFailed, in: &c, key: key, reclassify: &reclassify)
            if live, case .violation(let violation) = decided.outcome { return .refused(violation) }
            if live, decided.isReach, let refusal = try self.limitRefusal(conversation: old, business: key.business, at: t) {
                return .refused(refusal)
            }
            // A failed message has no class (R6): it was never sent as far as the rules go.
            record.outcome = record.isFailed ? nil : decided.outcome
            record.isReach = decided.isReach
        }
        if pending != nil { try self.dropPendingStatus(key: pendingKey) }
        c.oldest = min(c.oldest ?? t, t)
        let seq = self.takeSeq()
        let messageKey = MessageKey(conversation: c.id, direction: message.direction, at: t, seq: seq)
        try self.txn.put(self.db.messages, key: messageKey.encoded, value: record.encoded())
        try self.txn.put(self.db.messageIDs, key: Keys.messageID(business: key.business, id: id, seq: seq), value: messageKey.encoded)
        if message.direction == .outbound { try self.addCharge(of: record, at: t, key: key) }
        if record.isReach { try self.addReach(conversation: c, business: key.business, at: t) }
        if message.direction == .inbound, message.entryPoint != nil {
            try self.applyEntryPoint(at: t, to: &c, reclassify: &reclassify)
        }
        try self.reclassify(c, key: key, range: reclassify)
        try self.save(c, old: old, key: key)
        guard case .charged(let category) = record.outcome, !record.isFailed else { return .sent(record.outcome ?? .free, amountMicros: 0) }
        let market = Markets.market(ofCustomer: String(utf8Bytes: key.customer))
        let rank = try self.reader.chargeRank(business: key.business, market: market, category: category, at: t, id: record.id)
        let amount = try self.reader.rateBook().price(market: market.name, category: category, at: t, rank: rank)
        return .sent(.charged(category), amountMicros: amount)
    }

    /// A message id already recorded: `.duplicate` when it is the same message, else rejected.
    private func earlierRecording(
        of message: Message, business: [UInt8], id: [UInt8], record: MessageRecord, conversation: ConversationRecord?
    ) throws -> SendResult? {
        guard let (key, stored) = try self.reader.message(business: business, id: id) else { return nil }
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
            // A late inbound: outbound messages after it may change class (window, consent) or stop
            // being reaches. (Failed ones after the latest answer have no class to change.)
            reclassify.add(t, t + self.settings.windowMillis)
            if old?.firstIn.map({ t < $0 }) ?? true { reclassify.add(t, (old?.firstIn ?? lastOut) + 1) }
        }
    }

    /// R2, R3, R4, R8: an outbound message that did not fail answers what waits before it and may
    /// open the free entry point window; every outbound is classified at its time.
    private func classifyOutbound(
        _ message: Message, failed: Bool, in c: inout ConversationRecord, key: ConversationKey, reclassify: inout ReclassifyRange
    ) throws -> (outcome: SendOutcome, isReach: Bool) {
        let t = message.at
        c.messagesOut += 1
        var freeStart = c.freeWindowStart
        if !failed {
            if c.lastOut.map({ t > $0 }) ?? true {
                c.lastOut = t
                c.waitingSince = try self.reader.waitingSince(of: c, answeredAt: t)
            }
            freeStart = self.reader.prospectiveFreeWindowStart(c, sendingAt: t)
        }
        let context = try self.reader.sendContext(c, at: t, controls: nil, freeWindowStart: freeStart)
        let outcome = SendRules.classify(isTemplate: message.isTemplate, category: message.category, context: context)
        if freeStart != c.freeWindowStart, let freeStart {
            // This send opens the free window earlier: later sends may become free, and the
            // old window's sends may no longer be.
            if let oldStart = c.freeWindowStart { reclassify.add(oldStart, oldStart + self.settings.freeEntryWindowMillis) }
            reclassify.add(freeStart + 1, freeStart + self.settings.freeEntryWindowMillis)
            c.freeWindowStart = freeStart
        }
        return (outcome, !failed && SendRules.isReach(isTemplate: message.isTemplate, outcome: outcome, context: context))
    }

    /// R8, live: a template that would reach a customer not already reached in the 24 hours before
    /// `t` is refused once the business has reached its limit.
    private func limitRefusal(conversation: ConversationRecord?, business: [UInt8], at t: Int64) throws -> Violation? {
        guard let limit = try self.reader.messagingLimit(business: business) else { return nil }
        if let conversation, try self.reader.wasReached(conversation, at: t) { return nil }
        return try self.reader.reached(business: business, at: t) >= limit ? .limitReached : nil
    }

    /// R6: a status that arrived before its message.
    private func pendingStatus(key: [UInt8]) throws -> PendingStatus? {
        guard self.pendingStatuses > 0, let raw = try self.txn.get(self.db.pendingStatus, key: key) else { return nil }
        return try PendingStatus(decoding: raw)
    }

    private func dropPendingStatus(key: [UInt8]) throws {
        try self.txn.delete(self.db.pendingStatus, key: key)
        self.pendingStatuses -= 1
    }

    /// R3: the first entry point by time is the only one that counts; the first outbound that did
    /// not fail within the reply time after it opens the free window.
    private func applyEntryPoint(at t: Int64, to c: inout ConversationRecord, reclassify: inout ReclassifyRange) throws {
        guard c.freeEntryAt.map({ t < $0 }) ?? true else { return }
        c.freeEntryAt = t
        let newStart = try self.reader.earliestAnswer(of: c.id, from: t, before: t + self.settings.freeEntryReplyMillis)
        self.moveFreeWindow(of: &c, to: newStart, reclassify: &reclassify)
    }

    /// Moves the free window's start, and marks both windows for re-classification.
    func moveFreeWindow(of c: inout ConversationRecord, to newStart: Int64?, reclassify: inout ReclassifyRange) {
        guard newStart != c.freeWindowStart else { return }
        for start in [c.freeWindowStart, newStart].compactMap({ $0 }) {
            reclassify.add(start, start + self.settings.freeEntryWindowMillis)
        }
        c.freeWindowStart = newStart
    }
}
