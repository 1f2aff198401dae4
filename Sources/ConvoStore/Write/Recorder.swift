import LMDB

/// Applies events inside one write transaction: records, derived conversation state, indexes and
/// charges change together, so every index always agrees with its records.
///
/// One file per kind of event: `Recorder+Messages.swift` (inbound, outbound classification, pending
/// statuses), `Recorder+Statuses.swift`, `Recorder+Controls.swift`; `Recorder+Reclassify.swift`
/// re-derives outbound classes after a late event; index upkeep is in `Storage/IndexUpkeep.swift`.
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
    private static let countersKey = Array("counters".utf8)

    init(txn: WriteTransaction, db: Databases, settings: StoreSettings) throws {
        self.txn = txn
        self.reader = ConversationReader(txn: txn, db: db, settings: settings)
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
    }

    /// Saves the counters; call once before the transaction commits.
    func finish() throws {
        var w = ByteWriter(capacity: 12)
        w.u32(self.nextConversation)
        w.u64(self.nextSeq)
        try self.txn.put(self.db.meta, key: Self.countersKey, value: w.bytes)
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

    /// Runs `body` so that what it records is undone when it throws, while the transaction goes
    /// on: a nested transaction, and the recorder's own counters and caches restored with it.
    func atomically<T>(_ body: () throws -> T) throws -> T {
        let saved = (self.nextConversation, self.nextSeq, self.pendingStatuses, self.slaCache, self.hasSLAOverrides)
        do {
            return try self.txn.nested(body)
        } catch {
            (self.nextConversation, self.nextSeq, self.pendingStatuses, self.slaCache, self.hasSLAOverrides) = saved
            throw error
        }
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
        }
    }

    // MARK: Saving

    /// Writes the conversation (and its `conversations` key when it is new) and moves its index
    /// entries from the old state to the new.
    func save(_ c: ConversationRecord, old: ConversationRecord?, key: ConversationKey) throws {
        if old == nil {
            try self.txn.put(self.db.conversations, key: key.encoded, value: BigEndian.bytes(c.id))
            self.nextConversation += 1
        }
        try self.txn.put(self.db.messages, key: Keys.conversationRecord(c.id), value: c.encoded())
        let sla = try self.replySLA(key.business)
        try self.indexes.move(
            key, from: IndexedState(old, replySLA: sla, settings: self.settings), to: IndexedState(c, replySLA: sla, settings: self.settings))
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

    // MARK: Import checkpoints

    /// Records how far an import of one input got, in the transaction of the lines it covers.
    func saveCheckpoint(_ key: [UInt8], _ checkpoint: Checkpoint) throws {
        try self.txn.put(self.db.checkpoints, key: key, value: checkpoint.encoded())
    }
}
