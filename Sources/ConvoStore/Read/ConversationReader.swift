import LMDB

/// Reads conversation state and R4's facts at a time; shared by live checks, recording and `check`.
struct ConversationReader {
    let txn: ReadTransaction
    let db: Databases
    let settings: StoreSettings

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

    /// The reply SLA of a business: its override, or the store's.
    func replySLA(business: [UInt8]) throws -> Int64 {
        guard let raw = try self.txn.get(self.db.businessSLA, key: Keys.business(business)) else {
            return self.settings.replySLAMillis
        }
        guard raw.count == 8 else { throw ConvoStoreError.corruptRecord(database: "businessSLA", detail: "value of \(raw.count) bytes") }
        return Int64(bitPattern: BigEndian.read(UInt64.self, from: raw))
    }

    /// The latest message time of one direction at or before `t`.
    func latest(_ direction: Direction, of conversation: UInt32, atOrBefore t: Int64) throws -> Int64? {
        let cursor = try self.txn.cursor(self.db.messages)
        var bound = Keys.messageBound(conversation: conversation, direction: direction, at: t)
        bound.append(contentsOf: [UInt8](repeating: 0xFF, count: 8))
        guard let entry = try bound.withUnsafeBytes({ try cursor.seek(atOrBefore: $0) }) else { return nil }
        return try Self.time(in: entry.key, conversation: conversation, direction: direction)
    }

    /// The earliest message time of one direction in `[from, before)`.
    func earliest(_ direction: Direction, of conversation: UInt32, from: Int64, before: Int64 = .max) throws -> Int64? {
        let cursor = try self.txn.cursor(self.db.messages)
        guard let entry = try cursor.seek(atOrAfter: Keys.messageBound(conversation: conversation, direction: direction, at: from)),
              let t = try Self.time(in: entry.key, conversation: conversation, direction: direction), t < before
        else { return nil }
        return t
    }

    private static func time(in key: UnsafeRawBufferPointer, conversation: UInt32, direction: Direction) throws -> Int64? {
        // A conversation's record (a key of its id alone) sorts before its messages.
        if key.count == Keys.conversationRecordKeyCount { return nil }
        let parsed = try MessageKey(decoding: key)
        guard parsed.conversation == conversation, parsed.direction == direction else { return nil }
        return parsed.at
    }

    // MARK: Walks (export, check, SLA changes)

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

    /// A conversation's messages in key order (inbound by time, then outbound by time), decoded.
    func messages(of conversation: UInt32) throws -> [(key: MessageKey, record: MessageRecord)] {
        var out: [(MessageKey, MessageRecord)] = []
        let range = Keys.messages(of: conversation)
        try self.txn.forEach(self.db.messages, from: range.from, to: range.to) { key, value in
            out.append((try MessageKey(decoding: key), try MessageRecord(decoding: value)))
            return true
        }
        return out
    }

    /// A conversation's controls in the order they were recorded (time, then sequence), with their actor.
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

    /// Every control of a conversation, in (group, time, recorded order).
    func controls(of conversation: UInt32) throws -> [RecordedControl] {
        var out: [RecordedControl] = []
        try self.forEachControl(of: conversation) { control, _ in out.append(control) }
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

    /// R4's facts for an outbound message at `t`. `freeWindowStart` may be a prospective one
    /// (a live send that would itself open the free window).
    func sendContext(
        _ conversation: ConversationRecord, at t: Int64,
        controls: [RecordedControl]?, freeWindowStart: Int64?
    ) throws -> SendContext {
        let flags = controls.map { Self.flags(of: $0, at: t) } ?? []
        var lastIn: Int64?
        if let last = conversation.lastIn, last <= t {
            lastIn = last  // the common case: no inbound after t
        } else if let first = conversation.firstIn, first <= t {
            lastIn = try self.latest(.inbound, of: conversation.id, atOrBefore: t)
        }
        let windowOpen = lastIn.map { t < $0 + self.settings.windowMillis } ?? false
        let customerWrote = conversation.firstIn.map { $0 <= t } ?? false
        let inFree = freeWindowStart.map { $0 <= t && t < $0 + self.settings.freeEntryWindowMillis } ?? false
        return SendContext(flags: flags, windowOpen: windowOpen, customerWrote: customerWrote, inFreeWindow: inFree)
    }

    /// The free window a send at `t` would fall in, counting the send itself (R3).
    func prospectiveFreeWindowStart(_ c: ConversationRecord, sendingAt t: Int64) -> Int64? {
        if let entry = c.freeEntryAt, entry <= t, t < entry + self.settings.freeEntryReplyMillis,
           c.freeWindowStart.map({ t < $0 }) ?? true {
            return t
        }
        return c.freeWindowStart
    }

    /// Loads controls only for conversations that have any.
    func controlsIfAny(_ c: ConversationRecord) throws -> [RecordedControl]? {
        c.flags.contains(.hasControls) ? try self.controls(of: c.id) : nil
    }

    /// The outcome of a prospective outbound at `t` (R4), without recording it.
    func classifyProspective(
        _ c: ConversationRecord?, at t: Int64, isTemplate: Bool, category: TemplateCategory?
    ) throws -> SendOutcome {
        guard let c else {
            // No conversation yet: the customer never wrote and no control exists.
            let context = SendContext(flags: [], windowOpen: false, customerWrote: false, inFreeWindow: false)
            return SendRules.classify(isTemplate: isTemplate, category: category, context: context)
        }
        let context = try self.sendContext(
            c, at: t, controls: try self.controlsIfAny(c), freeWindowStart: self.prospectiveFreeWindowStart(c, sendingAt: t))
        return SendRules.classify(isTemplate: isTemplate, category: category, context: context)
    }

    func amount(for outcome: SendOutcome) -> Int64 {
        if case .charged(let category) = outcome { return self.settings.rates.rate(for: category) }
        return 0
    }
}
