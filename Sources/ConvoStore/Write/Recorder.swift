import LMDB

/// What recording one event did.
public enum RecordResult: Sendable, Hashable {
    /// Stored. For an outbound message, with its classification (R4); violations are kept and counted.
    case recorded
    /// The same message id was already recorded with identical content: nothing changed.
    case duplicate
    /// Not stored, and why.
    case rejected(ConvoStoreError)
}

/// What a live send did.
public enum SendResult: Sendable, Hashable {
    /// Allowed and recorded, with its classification and charge in micro-units.
    case sent(SendOutcome, amountMicros: Int64)
    /// Refused by a rule; nothing was recorded.
    case refused(Violation)
    /// The message id was already recorded with identical content.
    case duplicate
    /// Invalid input (a limit, a conflicting id); nothing was recorded.
    case rejected(ConvoStoreError)
}

/// Applies events inside one write transaction: records, derived conversation state, indexes and
/// charges change together, so every index always agrees with its records.
final class Recorder {
    let txn: WriteTransaction
    let reader: ConversationReader
    var db: Databases { self.reader.db }
    var settings: StoreSettings { self.reader.settings }
    private var nextConversation: UInt32
    private var nextSeq: UInt64
    private var slaCache: [[UInt8]: Int64] = [:]
    /// Whether any business has its own SLA; most stores have none, so most events skip the lookup.
    private var hasSLAOverrides: Bool
    /// Statuses waiting for their message; while there are none, a new message needs no lookup.
    private var pendingStatuses: Int
    private static let countersKey = Array("counters".utf8)

    init(txn: WriteTransaction, db: Databases, settings: StoreSettings) throws {
        self.txn = txn
        self.reader = ConversationReader(txn: txn, db: db, settings: settings)
        if let raw = try txn.get(db.meta, key: Self.countersKey) {
            var r = ByteReader(raw, database: "meta")
            self.nextConversation = try r.u32()
            self.nextSeq = try r.u64()
        } else {
            self.nextConversation = 1
            self.nextSeq = 1
        }
        self.hasSLAOverrides = try txn.statistics(db.businessSLA).entries > 0
        self.pendingStatuses = try txn.statistics(db.pendingStatus).entries
    }

    /// Saves the counters; call once before the transaction commits.
    func finish() throws {
        var w = ByteWriter(capacity: 12)
        w.u32(self.nextConversation)
        w.u64(self.nextSeq)
        try self.txn.put(self.db.meta, key: Self.countersKey, value: w.bytes)
    }

    private func takeSeq() -> UInt64 {
        defer { self.nextSeq += 1 }
        return self.nextSeq
    }

    private func replySLA(_ business: [UInt8]) throws -> Int64 {
        guard self.hasSLAOverrides else { return self.settings.replySLAMillis }
        if let cached = self.slaCache[business] { return cached }
        let sla = try self.reader.replySLA(business: business)
        self.slaCache[business] = sla
        return sla
    }

    // MARK: Events

    func record(_ event: Event) throws -> RecordResult {
        switch event {
        case .message(let message):
            switch try self.record(message, live: false) {
            case .sent, .refused: return .recorded
            case .duplicate: return .duplicate
            case .rejected(let error): return .rejected(error)
            }
        case .status(let status): return try self.record(status)
        case .control(let control): return try self.record(control, live: false)
        }
    }

    /// Records a message. Live, an outbound that breaks a rule is refused and nothing is written;
    /// in history (`live == false`) it is kept and counted under its violation.
    func record(_ message: Message, live: Bool) throws -> SendResult {
        do throws(ConvoStoreError) {
            try Limits.validate(message)
        } catch {
            return .rejected(error)
        }
        let business = [UInt8](utf8: message.business)
        let customer = [UInt8](utf8: message.customer)
        let idKey = Keys.messageID(business: business, id: [UInt8](utf8: message.id))
        let conversationKey = Keys.conversation(business: business, customer: customer)
        var record = MessageRecord(message)

        let existing = try self.reader.conversation(key: conversationKey)
        if let raw = try self.txn.get(self.db.messageIDs, key: idKey) {
            let key = try MessageKey(decoding: raw, database: "messageIDs")
            guard let storedRaw = try self.txn.get(self.db.messages, key: key.encoded) else {
                throw ConvoStoreError.corruptRecord(database: "messageIDs", detail: "points to a missing message")
            }
            let stored = try MessageRecord(decoding: storedRaw)
            if existing?.id == key.conversation, key.at == message.at, stored.sameContent(as: record) {
                return .duplicate
            }
            return .rejected(.conflictingMessage(business: message.business, id: message.id))
        }

        let old = existing
        var c = existing ?? ConversationRecord(id: self.nextConversation)
        let t = message.at
        var reclassify = ReclassifyRange()
        var outcome: SendOutcome?

        switch message.direction {
        case .inbound:
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
        case .outbound:
            c.messagesOut += 1
            if c.lastOut.map({ t > $0 }) ?? true {
                c.lastOut = t
                // Pending inbound are those after the answer; none if the customer last wrote at or before it.
                c.waitingSince = c.lastIn.map { $0 > t } ?? false ? try self.reader.earliest(.inbound, of: c.id, from: t + 1) : nil
            }
            let isTemplate = message.isTemplate
            let freeStart = self.reader.prospectiveFreeWindowStart(c, sendingAt: t)
            let context = try self.reader.sendContext(c, at: t, controls: try self.reader.controlsIfAny(c), freeWindowStart: freeStart)
            let decided = SendRules.classify(isTemplate: isTemplate, category: message.category, context: context)
            if live, case .violation(let violation) = decided { return .refused(violation) }
            outcome = decided
            if freeStart != c.freeWindowStart, let freeStart {
                // This send opens the free window earlier: later sends may become free, and the
                // old window's sends may no longer be.
                if let oldStart = c.freeWindowStart { reclassify.add(oldStart, oldStart + self.settings.freeEntryWindowMillis) }
                reclassify.add(freeStart + 1, freeStart + self.settings.freeEntryWindowMillis)
                c.freeWindowStart = freeStart
            }
            record.outcome = decided
        }

        if existing == nil { self.nextConversation += 1 }
        let seq = self.takeSeq()
        let key = MessageKey(conversation: c.id, direction: message.direction, at: t, seq: seq)
        if self.pendingStatuses > 0, let raw = try self.txn.get(self.db.pendingStatus, key: idKey) {
            let pending = try PendingStatus(decoding: raw)
            record.status = pending.status
            record.statusAt = pending.at
            try self.txn.delete(self.db.pendingStatus, key: idKey)
            self.pendingStatuses -= 1
        }
        let keyBytes = key.encoded
        try self.txn.put(self.db.messages, key: keyBytes, value: record.encoded())
        try self.txn.put(self.db.messageIDs, key: idKey, value: keyBytes)
        if let outcome {
            let entry = BillingEntry(outcome: outcome, amount: self.reader.amount(for: outcome), conversation: c.id)
            try self.txn.put(self.db.billing, key: Keys.billing(business: business, at: t, seq: seq), value: entry.encoded())
        }

        if message.direction == .inbound, message.entryPoint != nil, c.freeEntryAt.map({ t < $0 }) ?? true {
            // The first entry point by time is the only one that counts (R3).
            c.freeEntryAt = t
            let newStart = try self.reader.earliest(.outbound, of: c.id, from: t, before: t + self.settings.freeEntryReplyMillis)
            if newStart != c.freeWindowStart {
                for start in [c.freeWindowStart, newStart].compactMap({ $0 }) {
                    reclassify.add(start, start + self.settings.freeEntryWindowMillis)
                }
                c.freeWindowStart = newStart
            }
        }

        try self.reclassify(c, business: business, range: reclassify)
        try self.save(c, old: old, key: conversationKey, business: business, customer: customer)
        if let outcome { return .sent(outcome, amountMicros: self.reader.amount(for: outcome)) }
        return .sent(.free, amountMicros: 0)
    }

    /// Records a status (R6): statuses only move forward and `failed` is final, so the kept status is
    /// the highest; one for a message not yet recorded waits for it.
    func record(_ update: StatusUpdate) throws -> RecordResult {
        do throws(ConvoStoreError) {
            try Limits.validate(update)
        } catch {
            return .rejected(error)
        }
        let idKey = Keys.messageID(business: [UInt8](utf8: update.business), id: [UInt8](utf8: update.messageID))
        if let raw = try self.txn.get(self.db.messageIDs, key: idKey) {
            let key = try MessageKey(decoding: raw, database: "messageIDs").encoded
            guard let storedRaw = try self.txn.get(self.db.messages, key: key) else {
                throw ConvoStoreError.corruptRecord(database: "messageIDs", detail: "points to a missing message")
            }
            var stored = try MessageRecord(decoding: storedRaw)
            let merged = Self.merge(stored.status.map { ($0, stored.statusAt ?? update.at) }, (update.status, update.at))
            if merged.0 == stored.status && merged.1 == stored.statusAt { return .duplicate }
            stored.status = merged.0
            stored.statusAt = merged.1
            try self.txn.put(self.db.messages, key: key, value: stored.encoded())
            return .recorded
        }
        let current = try self.txn.get(self.db.pendingStatus, key: idKey).map { try PendingStatus(decoding: $0) }
        let merged = Self.merge(current.map { ($0.status, $0.at) }, (update.status, update.at))
        if let current, current.status == merged.0, current.at == merged.1 { return .duplicate }
        try self.txn.put(self.db.pendingStatus, key: idKey, value: PendingStatus(status: merged.0, at: merged.1).encoded())
        if current == nil { self.pendingStatuses += 1 }
        return .recorded
    }

    /// A webhook status: records the outbound message it implies when its id is new, then the status.
    func recordOutboundStatus(_ update: StatusUpdate, impliedMessage: Message) throws -> RecordResult {
        let idKey = Keys.messageID(business: [UInt8](utf8: update.business), id: [UInt8](utf8: update.messageID))
        var recordedMessage = false
        if try self.txn.get(self.db.messageIDs, key: idKey) == nil {
            switch try self.record(impliedMessage, live: false) {
            case .rejected(let error): return .rejected(error)
            case .sent, .refused: recordedMessage = true
            case .duplicate: break
            }
        }
        let status = try self.record(update)
        return recordedMessage && status == .duplicate ? .recorded : status
    }

    /// The higher status wins; for the same status, the earlier time (so the result is order-independent).
    static func merge(_ a: (MessageStatus, Int64)?, _ b: (MessageStatus, Int64)) -> (MessageStatus, Int64) {
        guard let a else { return b }
        if a.0 != b.0 { return a.0 > b.0 ? a : b }
        return a.1 <= b.1 ? a : b
    }

    /// Records a control (R5). Live, a business may block only a customer whose window is open.
    func record(_ control: Control, live: Bool) throws -> RecordResult {
        do throws(ConvoStoreError) {
            try Limits.validate(control)
        } catch {
            return .rejected(error)
        }
        let business = [UInt8](utf8: control.business)
        let customer = [UInt8](utf8: control.customer)
        let conversationKey = Keys.conversation(business: business, customer: customer)
        let old = try self.reader.conversation(key: conversationKey)
        if live, control.actor == .business, control.action == .block {
            let lastIn = try old.flatMap { c in try self.reader.latest(.inbound, of: c.id, atOrBefore: control.at) }
            guard let lastIn, control.at < lastIn + self.settings.windowMillis else {
                return .rejected(.businessBlockOutsideWindow(business: control.business, customer: control.customer))
            }
        }
        let group = ControlGroup(actor: control.actor, action: control.action)
        if let old, try self.hasControl(old.id, group: group, at: control.at, action: control.action) {
            // The same control as the last one of its group at that time (a re-imported dump):
            // recording it again could change nothing, so imports stay idempotent.
            return .duplicate
        }
        var c = old ?? ConversationRecord(id: self.nextConversation)
        if old == nil { self.nextConversation += 1 }
        try self.txn.put(
            self.db.controls, key: Keys.control(conversation: c.id, group: group, at: control.at, seq: self.takeSeq()),
            value: [control.action.rawValue])
        let controls = try self.reader.controls(of: c.id)
        c.flags = ConversationReader.flags(of: controls, at: nil).union(.hasControls)
        var range = ReclassifyRange()
        range.add(control.at, .max)
        try self.reclassify(c, business: business, range: range, controls: controls)
        try self.save(c, old: old, key: conversationKey, business: business, customer: customer)
        return .recorded
    }

    private func hasControl(_ conversation: UInt32, group: ControlGroup, at: Int64, action: ControlAction) throws -> Bool {
        var found = false
        let lower = Keys.control(conversation: conversation, group: group, at: at, seq: 0)
        let upper = Keys.control(conversation: conversation, group: group, at: at, seq: .max)
        // Only the last one recorded at that time counts: it is the one in effect.
        try self.txn.forEach(self.db.controls, from: .inclusive(lower), to: .inclusive(upper), reverse: true) { _, value in
            found = value.count == 1 && value[0] == action.rawValue
            return false
        }
        return found
    }

    /// Sets a business's reply SLA and moves its conversations' due times.
    func setReplySLA(business: String, millis: Int64?) throws {
        let b = [UInt8](utf8: business)
        // Collect the business's conversations first: index updates must not run under the cursor.
        var conversations: [(key: [UInt8], customer: [UInt8], record: ConversationRecord)] = []
        let prefix = Keys.business(b)
        try self.txn.forEach(self.db.conversations, from: .inclusive(prefix), to: .exclusive(prefix + [0xFF])) { key, value in
            var r = ByteReader(key, database: "conversations")
            _ = try r.ordered()
            conversations.append((Array(key), try r.ordered(), try self.reader.conversation(id: ConversationReader.id(value))))
            return true
        }
        let oldSLA = try self.replySLA(b)
        for entry in conversations { try self.updateDueIndex(old: entry.record, new: nil, key: entry.key, business: b, customer: entry.customer, sla: oldSLA) }
        if let millis {
            try self.txn.put(self.db.businessSLA, key: prefix, value: BigEndian.bytes(UInt64(millis)))
        } else {
            try self.txn.delete(self.db.businessSLA, key: prefix)
        }
        self.hasSLAOverrides = try self.txn.statistics(self.db.businessSLA).entries > 0
        self.slaCache[b] = nil
        let newSLA = try self.replySLA(b)
        for entry in conversations { try self.updateDueIndex(old: nil, new: entry.record, key: entry.key, business: b, customer: entry.customer, sla: newSLA) }
    }

    // MARK: Derived state

    /// Re-derives the class of the conversation's outbound messages in a time range after an event
    /// that changed their facts (a late inbound, a control, an earlier free window), and moves
    /// their charges with them.
    private func reclassify(
        _ c: ConversationRecord, business: [UInt8], range: ReclassifyRange,
        controls preloaded: [(group: ControlGroup, at: Int64, action: ControlAction)]? = nil
    ) throws {
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
        for change in changes {
            try self.txn.put(self.db.messages, key: change.key, value: change.record.encoded())
            let outcome = change.record.outcome!
            let entry = BillingEntry(outcome: outcome, amount: self.reader.amount(for: outcome), conversation: c.id)
            try self.txn.put(self.db.billing, key: Keys.billing(business: business, at: change.at, seq: change.seq), value: entry.encoded())
        }
    }

    /// Writes the conversation and moves its index entries from the old state to the new.
    private func save(_ c: ConversationRecord, old: ConversationRecord?, key: [UInt8], business: [UInt8], customer: [UInt8]) throws {
        if old == nil { try self.txn.put(self.db.conversations, key: key, value: BigEndian.bytes(c.id)) }
        try self.txn.put(self.db.messages, key: Keys.conversationRecord(c.id), value: c.encoded())
        try self.updateDueIndex(old: old, new: c, key: key, business: business, customer: customer, sla: try self.replySLA(business))
        let oldExpiry = old?.windowExpiresAt(self.settings)
        let newExpiry = c.windowExpiresAt(self.settings)
        if oldExpiry != newExpiry {
            if let oldExpiry {
                try self.txn.delete(self.db.expiryByTime, key: Keys.byTime(oldExpiry, conversationKey: key))
                try self.txn.delete(self.db.expiryByBusiness, key: Keys.byBusiness(oldExpiry, business: business, customer: customer))
            }
            if let newExpiry {
                try self.txn.put(self.db.expiryByTime, key: Keys.byTime(newExpiry, conversationKey: key), value: [])
                try self.txn.put(self.db.expiryByBusiness, key: Keys.byBusiness(newExpiry, business: business, customer: customer), value: [])
            }
        }
    }

    /// The due indexes hold conversations with a reply due that are not blocked now (R2).
    private func updateDueIndex(
        old: ConversationRecord?, new: ConversationRecord?, key: [UInt8], business: [UInt8], customer: [UInt8], sla: Int64
    ) throws {
        func due(_ c: ConversationRecord?) -> (at: Int64, waitingSince: Int64)? {
            guard let c, !c.flags.blocked, let since = c.waitingSince else { return nil }
            return (since + sla, since)
        }
        let before = due(old)
        let after = due(new)
        if before?.at == after?.at && before?.waitingSince == after?.waitingSince { return }
        if let before {
            try self.txn.delete(self.db.dueByTime, key: Keys.byTime(before.at, conversationKey: key))
            try self.txn.delete(self.db.dueByBusiness, key: Keys.byBusiness(before.at, business: business, customer: customer))
        }
        if let after {
            let value = Keys.time(after.waitingSince)
            try self.txn.put(self.db.dueByTime, key: Keys.byTime(after.at, conversationKey: key), value: value)
            try self.txn.put(self.db.dueByBusiness, key: Keys.byBusiness(after.at, business: business, customer: customer), value: value)
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
