import LMDB

/// Reads conversation state and R4's facts at a time; shared by live checks, recording, check and
/// export. Every walk here counts the purged part of a conversation through its summary, and skips
/// failed outbound messages where R6 says they do not count.
struct ConversationReader {
    let txn: ReadTransaction
    let db: Databases
    let settings: StoreSettings
    let pricing: PricingCache

    // MARK: Conversations

    /// The conversation of a (business, customer) key: its id from `conversations`, then its record,
    /// which sits in `messages` just before its messages.
    func conversation(key: [UInt8]) throws -> ConversationRecord? {
        guard let id = try self.conversationID(key: key) else { return nil }
        return try self.conversation(id: id)
    }

    func conversationID(key: [UInt8]) throws -> UInt32? {
        try self.txn.get(self.db.conversations, key: key).map(Self.id)
    }

    /// Decodes a `conversations` value: the conversation's id.
    static func id(_ raw: UnsafeRawBufferPointer) throws -> UInt32 {
        guard raw.count == 4 else { throw ConvoStoreError.corruptRecord(database: "conversations", detail: "an id of \(raw.count) bytes") }
        return BigEndian.read(UInt32.self, from: raw)
    }

    func conversation(id: UInt32) throws -> ConversationRecord {
        guard let raw = try self.txn.get(self.db.messages, key: Keys.conversationRecord(id)) else {
            throw ConvoStoreError.corruptRecord(database: "conversations", detail: "conversation \(id) has no record")
        }
        let record = try ConversationRecord(decoding: raw)
        guard record.id == id else { throw ConvoStoreError.corruptRecord(database: "conversations", detail: "record \(id) holds id \(record.id)") }
        return record
    }

    /// A conversation's key, from its id (`conversationKeys`).
    func conversationKey(id: UInt32) throws -> ConversationKey {
        guard let raw = try self.txn.get(self.db.conversationKeys, key: BigEndian.bytes(id)) else {
            throw ConvoStoreError.corruptRecord(database: "conversationKeys", detail: "conversation \(id) has no key")
        }
        return try ConversationKey(decoding: raw)
    }

    /// The message `id` of `business`, through `messageIDs`: of the entries under the id's hash, the
    /// one whose message has that id in a conversation of that business (two ids share a hash once in
    /// 2^64; two businesses may use one id).
    func message(business: [UInt8], id: [UInt8]) throws -> (key: MessageKey, record: MessageRecord)? {
        let hash = Keys.messageIDHash(business: business, id: id)
        var found: (MessageKey, MessageRecord)?
        // Every key under the hash: 8 bytes of it, then a seq; the bound is longer than any of them.
        try self.txn.forEach(self.db.messageIDs, from: .inclusive(hash), to: .exclusive(hash + [UInt8](repeating: 0xFF, count: 9))) { _, value in
            let key = try MessageKey(decoding: value, database: "messageIDs")
            guard let raw = try self.txn.get(self.db.messages, key: key.encoded) else {
                throw ConvoStoreError.corruptRecord(database: "messageIDs", detail: "points to a missing message")
            }
            let record = try MessageRecord(decoding: raw)
            guard record.id == id, try self.conversationKey(id: key.conversation).business == business else { return true }
            found = (key, record)
            return false
        }
        return found
    }

    /// The customer a user id stands for, if a link names it (`identities`); else the id itself.
    func resolvedCustomer(business: [UInt8], customer: String) throws -> String {
        guard CustomerID.isUserID(customer),
              let phone = try self.txn.get(self.db.identities, key: Keys.identity(business: business, userID: Array(customer.utf8)))
        else { return customer }
        return String(decoding: phone, as: UTF8.self)
    }

    // MARK: Business settings

    /// The reply SLA of a business: its override, or the store's.
    func replySLA(business: [UInt8]) throws -> Int64 {
        guard let raw = try self.txn.get(self.db.businessSLA, key: Keys.business(business)) else {
            return self.settings.replySLAMillis
        }
        guard raw.count == 8 else { throw ConvoStoreError.corruptRecord(database: "businessSLA", detail: "value of \(raw.count) bytes") }
        return Int64(bitPattern: BigEndian.read(UInt64.self, from: raw))
    }

    /// A business's messaging limit (R8), nil when unlimited.
    func messagingLimit(business: [UInt8]) throws -> Int64? {
        guard let raw = try self.txn.get(self.db.messagingLimits, key: Keys.business(business)) else { return nil }
        guard raw.count == 8 else { throw ConvoStoreError.corruptRecord(database: "messagingLimits", detail: "value of \(raw.count) bytes") }
        return Int64(bitPattern: BigEndian.read(UInt64.self, from: raw))
    }

    /// The store's horizon (R9): nothing before it is kept. Nil when nothing was purged.
    func storeHorizon() throws -> Int64? {
        try self.txn.get(self.db.meta, key: Keys.horizonKey).map { raw in
            guard raw.count == 8 else { throw ConvoStoreError.corruptRecord(database: "meta", detail: "horizon of \(raw.count) bytes") }
            return Int64(bitPattern: BigEndian.read(UInt64.self, from: raw))
        }
    }

    /// How long the store keeps history (R9), in milliseconds; nil: everything.
    func retention() throws -> Int64? {
        try self.txn.get(self.db.meta, key: Keys.retentionKey).map { raw in
            guard raw.count == 8 else { throw ConvoStoreError.corruptRecord(database: "meta", detail: "retention of \(raw.count) bytes") }
            return Int64(bitPattern: BigEndian.read(UInt64.self, from: raw))
        }
    }

    /// The horizon an event of `business` must not be before: the store's or the business's, the later.
    func horizon(business: [UInt8]) throws -> Int64? {
        let own = try self.txn.get(self.db.horizons, key: Keys.business(business)).map { raw in
            guard raw.count == 8 else { throw ConvoStoreError.corruptRecord(database: "horizons", detail: "value of \(raw.count) bytes") }
            return Int64(bitPattern: BigEndian.read(UInt64.self, from: raw))
        }
        switch (try self.storeHorizon(), own) {
        case (nil, let b): return b
        case (let s, nil): return s
        case (let s?, let b?): return max(s, b)
        }
    }

    // MARK: Messages of a conversation

    /// The latest inbound at or before `t`, purged ones included (R1: the window at `t`).
    func latestInbound(of c: ConversationRecord, atOrBefore t: Int64) throws -> Int64? {
        if let last = c.lastIn, last <= t { return last }  // the common case: no inbound after t
        guard let first = c.firstIn, first <= t else { return nil }
        let cursor = try self.txn.cursor(self.db.messages)
        var bound = Keys.messageBound(conversation: c.id, direction: .inbound, at: t)
        bound.append(contentsOf: [UInt8](repeating: 0xFF, count: 8))
        if let entry = try bound.withUnsafeBytes({ try cursor.seek(atOrBefore: $0) }),
           let kept = try Self.time(in: entry.key, conversation: c.id, direction: .inbound) {
            return kept
        }
        return c.purged?.lastIn.flatMap { $0 <= t ? $0 : nil }
    }

    /// The earliest kept inbound in `[from, before)`.
    func earliestInbound(of conversation: UInt32, from: Int64, before: Int64 = .max) throws -> Int64? {
        let cursor = try self.txn.cursor(self.db.messages)
        guard let entry = try cursor.seek(atOrAfter: Keys.messageBound(conversation: conversation, direction: .inbound, at: from)),
              let t = try Self.time(in: entry.key, conversation: conversation, direction: .inbound), t < before
        else { return nil }
        return t
    }

    /// The latest outbound that did not fail (R2's answer, R6), purged ones included.
    func latestAnswer(of c: ConversationRecord) throws -> Int64? {
        let range = (from: Keys.messageBound(conversation: c.id, direction: .outbound, at: 0),
                     to: Keys.messageBound(conversation: c.id, direction: .outbound, at: -1))
        var found: Int64?
        try self.txn.forEach(self.db.messages, from: .inclusive(range.from), to: .exclusive(range.to), reverse: true) { key, value in
            if try !MessageRecord.isFailed(value) {
                found = try MessageKey(decoding: key).at
                return false
            }
            return true
        }
        return found ?? c.purged?.lastOut
    }

    /// The earliest kept outbound that did not fail in `[from, before)` (R3: the one that opens the
    /// free window; a failed one opens none).
    func earliestAnswer(of conversation: UInt32, from: Int64, before: Int64) throws -> Int64? {
        guard from < before else { return nil }
        var found: Int64?
        try self.txn.forEach(
            self.db.messages, from: .inclusive(Keys.messageBound(conversation: conversation, direction: .outbound, at: from)),
            to: .exclusive(Keys.messageBound(conversation: conversation, direction: .outbound, at: before))
        ) { key, value in
            if try !MessageRecord.isFailed(value) {
                found = try MessageKey(decoding: key).at
                return false
            }
            return true
        }
        return found
    }

    /// The earliest inbound after `answer` (R2: what waits for a reply), purged ones included; the
    /// earliest inbound of all when nothing answered.
    func waitingSince(of c: ConversationRecord, answeredAt answer: Int64?) throws -> Int64? {
        guard let answer else { return c.firstIn }
        guard c.lastIn.map({ $0 > answer }) ?? false else { return nil }
        let kept = try self.earliestInbound(of: c.id, from: answer + 1)
        // Purged inbound after the answer exist only if the answer is the purged one.
        let purged = c.purged.flatMap { $0.lastOut == answer ? $0.waitingSince : nil }
        switch (kept, purged) {
        case (nil, let p): return p
        case (let k, nil): return k
        case (let k?, let p?): return min(k, p)
        }
    }

    private static func time(in key: UnsafeRawBufferPointer, conversation: UInt32, direction: Direction) throws -> Int64? {
        // A conversation's record (a key of its id alone) sorts before its messages.
        if key.count == Keys.conversationRecordKeyCount { return nil }
        let parsed = try MessageKey(decoding: key)
        guard parsed.conversation == conversation, parsed.direction == direction else { return nil }
        return parsed.at
    }

    // MARK: Walks (export, check, SLA changes, erasure)

    /// Calls `body` with each conversation's key and id, by (business, customer); only those of
    /// `business` when given.
    func forEachConversation(business: [UInt8]? = nil, _ body: (ConversationKey, UInt32) throws -> Void) throws {
        var lower: KeyBound = .unbounded
        var upper: KeyBound = .unbounded
        if let business {
            let prefix = Keys.business(business)
            lower = .inclusive(prefix)
            upper = .exclusive(prefix + [0xFF])
        }
        try self.txn.forEach(self.db.conversations, from: lower, to: upper) { key, value in
            try body(try ConversationKey(decoding: key), try Self.id(value))
            return true
        }
    }

    /// A customer's conversations: (business, id), from `customers`.
    func conversations(ofCustomer customer: [UInt8]) throws -> [(business: [UInt8], id: UInt32)] {
        var out: [([UInt8], UInt32)] = []
        let prefix = Keys.business(customer)
        try self.txn.forEach(self.db.customers, from: .inclusive(prefix), to: .exclusive(prefix + [0xFF])) { key, value in
            var r = ByteReader(key, database: "customers")
            _ = try r.ordered()
            out.append((try r.ordered(), try Self.id(value)))
            return true
        }
        return out
    }

    /// A conversation's kept messages in key order (inbound by time, then outbound by time), decoded.
    func messages(of conversation: UInt32) throws -> [(key: MessageKey, record: MessageRecord)] {
        var out: [(MessageKey, MessageRecord)] = []
        let range = Keys.messages(of: conversation)
        try self.txn.forEach(self.db.messages, from: range.from, to: range.to) { key, value in
            out.append((try MessageKey(decoding: key), try MessageRecord(decoding: value)))
            return true
        }
        return out
    }

    /// A conversation's kept controls in the order they were recorded (time, then sequence).
    func controlsInRecordingOrder(of conversation: UInt32) throws -> [(control: RecordedControl, seq: UInt64)] {
        var out: [(RecordedControl, UInt64)] = []
        try self.forEachControl(of: conversation) { control, seq in out.append((control, seq)) }
        return out.sorted { ($0.0.at, $0.1) < ($1.0.at, $1.1) }
    }

    /// Calls `body` with each status still waiting for its message: (business, message id, status).
    func forEachPendingStatus(_ body: (String, String, PendingStatus) throws -> Void) throws {
        try self.txn.forEach(self.db.pendingStatus) { key, value in
            var r = ByteReader(key, database: "pendingStatus")
            let business = String(utf8Bytes: try r.ordered())
            let id = String(utf8Bytes: Array(UnsafeRawBufferPointer(rebasing: key[r.offset...])))
            try body(business, id, try PendingStatus(decoding: value))
            return true
        }
    }

    // MARK: Controls (R5)

    /// Every control of a conversation in (group, time, recorded order): the purged ones in effect
    /// at the horizon first, then the kept ones.
    func controls(of c: ConversationRecord) throws -> [RecordedControl] {
        // Kept controls come in (group, time, sequence) order; a group's purged control is older
        // than all its kept ones, so it goes first in its group.
        var purged = c.purged?.recordedControls ?? []
        var out: [RecordedControl] = []
        try self.forEachControl(of: c.id) { control, _ in
            while let next = purged.first, next.group.rawValue <= control.group.rawValue { out.append(purged.removeFirst()) }
            out.append(control)
        }
        out.append(contentsOf: purged)
        return out
    }

    private func forEachControl(of conversation: UInt32, _ body: (RecordedControl, UInt64) throws -> Void) throws {
        try self.txn.forEach(
            self.db.controls, from: .inclusive(BigEndian.bytes(conversation)),
            to: .exclusive(BigEndian.bytes(conversation) + [0xFF])  // groups are < 0xFF
        ) { key, value in
            var r = ByteReader(key, database: "controls")
            _ = try r.u32()
            let g = try r.u8()
            let at = try r.time()
            let seq = try r.u64()
            guard let group = ControlGroup(rawValue: g), value.count == 1, let action = ControlAction(rawValue: value[0]) else {
                throw ConvoStoreError.corruptRecord(database: "controls", detail: "bad control entry")
            }
            try body(RecordedControl(group: group, at: at, action: action), seq)
            return true
        }
    }

    /// The state of every control group at `t` (nil: after all controls). Within a group the latest
    /// control at or before t wins; equal times go to the one recorded last (R5).
    static func flags(of controls: [RecordedControl], at t: Int64?) -> ConversationFlags {
        var latest: [ControlGroup: ControlAction] = [:]
        for control in controls where t == nil || control.at <= t! {
            latest[control.group] = control.action  // sorted by (group, at, seq): the last one wins
        }
        var flags: ConversationFlags = []
        for (group, action) in latest { flags.formUnion(ControlGroup.flag(for: action, group: group)) }
        return flags
    }

    /// Loads controls only for conversations that have any.
    func controlsIfAny(_ c: ConversationRecord) throws -> [RecordedControl]? {
        c.flags.contains(.hasControls) ? try self.controls(of: c) : nil
    }

    /// R5's state at `t`: none without controls; the record's own `flags` when no control is later
    /// than `t` (read from the record alone: the common case of a send check); else from the
    /// controls, `loaded` by the caller or read now.
    func controlFlags(of c: ConversationRecord, at t: Int64, loaded: [RecordedControl]?) throws -> ConversationFlags {
        guard c.flags.contains(.hasControls) else { return [] }
        if let last = c.lastControlAt, last <= t { return c.flags.subtracting(.hasControls) }
        return Self.flags(of: try loaded ?? self.controls(of: c), at: t)
    }

    // MARK: R4 at a time

    /// R4's facts for an outbound message at `t`. `freeWindowStart` may be a prospective one
    /// (a live send that would itself open the free window). `controls`: the conversation's, if the
    /// caller has them loaded (they are read only if R5 at `t` needs them).
    func sendContext(_ conversation: ConversationRecord, at t: Int64, controls: [RecordedControl]?, freeWindowStart: Int64?) throws -> SendContext {
        let flags = try self.controlFlags(of: conversation, at: t, loaded: controls)
        let lastIn = try self.latestInbound(of: conversation, atOrBefore: t)
        let windowOpen = lastIn.map { t < $0 + self.settings.windowMillis } ?? false
        let customerWrote = conversation.firstIn.map { $0 <= t } ?? false
        let inFree = freeWindowStart.map { $0 <= t && t < $0 + self.settings.freeEntryWindowMillis } ?? false
        return SendContext(
            flags: flags, windowOpen: windowOpen, customerWrote: customerWrote, inFreeWindow: inFree,
            serviceCharged: t >= self.settings.serviceChargesFromMillis)
    }

    /// The free window a send at `t` would fall in, counting the send itself (R3).
    func prospectiveFreeWindowStart(_ c: ConversationRecord, sendingAt t: Int64) -> Int64? {
        if let entry = c.freeEntryAt, entry <= t, t < entry + self.settings.freeEntryReplyMillis,
           c.freeWindowStart.map({ t < $0 }) ?? true {
            return t
        }
        return c.freeWindowStart
    }

    /// The outcome of a prospective outbound at `t` (R4), without recording it.
    func classifyProspective(_ c: ConversationRecord?, at t: Int64, isTemplate: Bool, category: TemplateCategory?) throws -> SendOutcome {
        guard let c else {
            // No conversation yet: the customer never wrote and no control exists.
            let context = SendContext(
                flags: [], windowOpen: false, customerWrote: false, inFreeWindow: false, serviceCharged: t >= self.settings.serviceChargesFromMillis)
            return SendRules.classify(isTemplate: isTemplate, category: category, context: context)
        }
        let context = try self.sendContext(
            c, at: t, controls: nil, freeWindowStart: self.prospectiveFreeWindowStart(c, sendingAt: t))
        return SendRules.classify(isTemplate: isTemplate, category: category, context: context)
    }

    // MARK: Pricing (R7)

    /// The store's rate card, every version, as of this transaction.
    func rateBook() throws -> RateBook {
        try self.pricing.book(self)
    }
}

extension Keys {
    static let horizonKey = Array("horizon".utf8)
    static let retentionKey = Array("retention".utf8)
    static let ratesGenerationKey = Array("rates".utf8)
}
