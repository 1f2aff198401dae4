import LMDB

/// Applies events inside one write transaction: records, derived conversation state, indexes,
/// charges and reaches change together, so every index always agrees with its records.
///
/// One file per kind of work: `Recorder+Messages.swift` (inbound, outbound classification, pending
/// statuses), `Recorder+Statuses.swift` (R6, failed messages), `Recorder+Controls.swift` (R5),
/// `Recorder+Reclassify.swift` (late events), `Recorder+Charges.swift` (R7's entries),
/// `Recorder+Reaches.swift` (R8), `Recorder+Identities.swift` (user ids), `Recorder+Lifecycle.swift`
/// (R9: purge, erase); index upkeep is in `Storage/IndexUpkeep.swift`.
final class Recorder {
    let txn: WriteTransaction
    let reader: ConversationReader
    let indexes: IndexUpkeep
    var db: Databases { self.reader.db }
    var settings: StoreSettings { self.reader.settings }
    private var nextConversation: UInt32
    private var nextSeq: UInt64
    private var slaCache: [[UInt8]: Int64] = [:]
    /// Whether any business has its own SLA; most stores have none, so most events skip the lookup.
    private var hasSLAOverrides: Bool
    /// Statuses waiting for their message; while there are none, a new message needs no lookup.
    var pendingStatuses: Int
    /// Whether any user id is linked to a phone number; while none is, no id needs resolving.
    private var hasIdentities: Bool
    /// Whether the store or any business has a horizon (R9); most stores have none.
    private var hasHorizons: Bool
    private var horizonCache: [[UInt8]: Int64?] = [:]
    private static let countersKey = Array("counters".utf8)

    init(txn: WriteTransaction, db: Databases, settings: StoreSettings, pricing: PricingCache) throws {
        self.txn = txn
        self.reader = ConversationReader(txn: txn, db: db, settings: settings, pricing: pricing)
        self.indexes = IndexUpkeep(txn: txn, db: db)
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
        self.hasIdentities = try txn.statistics(db.identities).entries > 0
        self.hasHorizons = try txn.get(db.meta, key: Keys.horizonKey) != nil || txn.statistics(db.horizons).entries > 0
    }

    /// Saves the counters; call once before the transaction commits.
    func finish() throws {
        var w = ByteWriter(capacity: 12)
        w.u32(self.nextConversation)
        w.u64(self.nextSeq)
        try self.txn.put(self.db.meta, key: Self.countersKey, value: w.bytes)
    }

    /// Runs `body` so that what it records is undone when it throws, while the transaction goes
    /// on: a nested transaction, and the recorder's own counters and caches restored with it.
    func atomically<T>(_ body: () throws -> T) throws -> T {
        let saved = (self.nextConversation, self.nextSeq, self.pendingStatuses, self.slaCache, self.hasSLAOverrides,
                     self.hasIdentities, self.hasHorizons, self.horizonCache)
        do {
            return try self.txn.nested(body)
        } catch {
            (self.nextConversation, self.nextSeq, self.pendingStatuses, self.slaCache, self.hasSLAOverrides,
             self.hasIdentities, self.hasHorizons, self.horizonCache) = saved
            throw error
        }
    }

    /// The next store-wide sequence number: it orders events of one millisecond by recording order.
    func takeSeq() -> UInt64 {
        defer { self.nextSeq += 1 }
        return self.nextSeq
    }

    /// The stored conversation, or a new one with the next id (taken only when it is saved).
    func conversationOrNew(_ existing: ConversationRecord?) -> ConversationRecord {
        existing ?? ConversationRecord(id: self.nextConversation)
    }

    func replySLA(_ business: [UInt8]) throws -> Int64 {
        guard self.hasSLAOverrides else { return self.settings.replySLAMillis }
        if let cached = self.slaCache[business] { return cached }
        let sla = try self.reader.replySLA(business: business)
        self.slaCache[business] = sla
        return sla
    }

    /// The conversation key of an event's parties, a user id resolved to its phone number's customer.
    func conversationKey(business: String, customer: String) throws -> ConversationKey {
        guard self.hasIdentities, CustomerID.isUserID(customer) else { return ConversationKey(business: business, customer: customer) }
        let b = [UInt8](utf8: business)
        return ConversationKey(business: b, customer: [UInt8](utf8: try self.reader.resolvedCustomer(business: b, customer: customer)))
    }

    /// R9: an event before the horizon of its business is rejected.
    func horizonViolation(business: [UInt8], at t: Int64) throws -> ConvoStoreError? {
        guard self.hasHorizons else { return nil }
        let horizon: Int64?
        if let cached = self.horizonCache[business] {
            horizon = cached
        } else {
            horizon = try self.reader.horizon(business: business)
            self.horizonCache[business] = horizon
        }
        guard let horizon, t < horizon else { return nil }
        return .beforeHorizon(horizon)
    }

    /// Forgets what the horizons were (a purge moved one).
    func horizonsChanged() {
        self.hasHorizons = true
        self.horizonCache.removeAll()
    }

    func identitiesChanged() throws {
        self.hasIdentities = try self.txn.statistics(self.db.identities).entries > 0
    }

    // MARK: Events

    /// Records an event of history. `validated`: its limits were already checked (by a dump parser),
    /// so they are checked once per event.
    func record(_ event: Event, validated: Bool = false) throws -> RecordResult {
        if !validated, let error = Limits.violation(of: event) { return .rejected(error) }
        switch event {
        case .message(let message):
            switch try self.record(message, live: false) {
            case .sent, .refused: return .recorded
            case .duplicate: return .duplicate
            case .rejected(let error): return .rejected(error)
            }
        case .status(let status): return try self.record(status)
        case .control(let control): return try self.record(control, live: false)
        case .link(let link): return try self.record(link)
        }
    }

    // MARK: Saving

    /// Writes the conversation (and, when it is new, its keys in `conversations` and `customers`)
    /// and moves its index entries from the old state to the new.
    func save(_ c: ConversationRecord, old: ConversationRecord?, key: ConversationKey) throws {
        if old == nil {
            try self.txn.put(self.db.conversations, key: key.encoded, value: BigEndian.bytes(c.id))
            try self.txn.put(self.db.customers, key: Keys.customer(key.customer, business: key.business), value: BigEndian.bytes(c.id))
            try self.txn.put(self.db.conversationKeys, key: BigEndian.bytes(c.id), value: key.encoded)
            self.nextConversation += 1
        }
        try self.txn.put(self.db.messages, key: Keys.conversationRecord(c.id), value: c.encoded())
        if old?.oldest != c.oldest {
            if let before = old?.oldest { try self.txn.delete(self.db.oldest, key: Keys.oldest(at: before, conversation: c.id)) }
            if let after = c.oldest { try self.txn.put(self.db.oldest, key: Keys.oldest(at: after, conversation: c.id), value: []) }
        }
        let sla = try self.replySLA(key.business)
        try self.indexes.move(
            key, from: IndexedState(old, replySLA: sla, settings: self.settings), to: IndexedState(c, replySLA: sla, settings: self.settings))
    }

    /// The time of a conversation's oldest kept event, message or control (after a purge).
    func oldestKeptEvent(of conversation: UInt32) throws -> Int64? {
        var times: [Int64] = []
        for direction in Direction.allCases {
            let cursor = try self.txn.cursor(self.db.messages)
            if let entry = try cursor.seek(atOrAfter: Keys.messageBound(conversation: conversation, direction: direction, at: 0)),
               entry.key.count == Keys.messageKeyCount {
                let key = try MessageKey(decoding: entry.key)
                if key.conversation == conversation && key.direction == direction { times.append(key.at) }
            }
        }
        try self.txn.forEach(
            self.db.controls, from: .inclusive(BigEndian.bytes(conversation)), to: .exclusive(BigEndian.bytes(conversation) + [0xFF])
        ) { key, _ in
            var r = ByteReader(key, database: "controls")
            _ = try r.u32()
            _ = try r.u8()
            times.append(try r.time())
            return true
        }
        return times.min()
    }

    // MARK: Business settings

    /// Sets a business's reply SLA and moves its conversations' due times.
    func setReplySLA(business: String, millis: Int64?) throws {
        let b = [UInt8](utf8: business)
        // Collect the business's conversations first: index updates must not run under the cursor.
        var conversations: [(key: ConversationKey, record: ConversationRecord)] = []
        try self.reader.forEachConversation(business: b) { key, id in
            conversations.append((key, try self.reader.conversation(id: id)))
        }
        let oldSLA = try self.replySLA(b)
        if let millis {
            try self.txn.put(self.db.businessSLA, key: Keys.business(b), value: BigEndian.bytes(UInt64(millis)))
        } else {
            try self.txn.delete(self.db.businessSLA, key: Keys.business(b))
        }
        self.hasSLAOverrides = try self.txn.statistics(self.db.businessSLA).entries > 0
        self.slaCache[b] = nil
        let newSLA = try self.replySLA(b)
        for (key, record) in conversations {
            try self.indexes.move(
                key, from: IndexedState(record, replySLA: oldSLA, settings: self.settings),
                to: IndexedState(record, replySLA: newSLA, settings: self.settings))
        }
    }

    /// Sets (nil: removes) a business's messaging limit (R8).
    func setMessagingLimit(business: String, limit: Int64?) throws {
        let key = Keys.business([UInt8](utf8: business))
        if let limit {
            try self.txn.put(self.db.messagingLimits, key: key, value: BigEndian.bytes(UInt64(limit)))
        } else {
            try self.txn.delete(self.db.messagingLimits, key: key)
        }
    }

    // MARK: Import checkpoints

    /// Records how far an import of one input got, in the transaction of the lines it covers.
    func saveCheckpoint(_ key: [UInt8], _ checkpoint: Checkpoint) throws {
        try self.txn.put(self.db.checkpoints, key: key, value: checkpoint.encoded())
    }

    func setLogPosition(_ position: UInt64, of log: String) throws {
        try Limits.checkID(log, field: "log", limit: Limits.partyIDBytes)
        try self.txn.put(self.db.checkpoints, key: Keys.logPosition(log), value: BigEndian.bytes(position))
    }
}
