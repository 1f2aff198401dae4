import LMDB

// R9: data that leaves. A purge removes a conversation's messages and controls before the horizon and
// keeps a summary of them in its record (ConversationRecord.PurgedHistory) and their charges without
// them; an erasure removes every trace of a customer but the charges, kept without the customer.
// Both cost what they remove plus the conversations they touch (`oldest`, `customers`), never a
// walk over the store. docs/lifecycle.md says what is kept and why.

/// What a purge removed.
public struct PurgeSummary: Sendable, Hashable {
    /// The horizon after the purge: events before it are rejected.
    public var horizon: Int64
    /// Messages removed (their charges are kept).
    public var messages = 0
    /// Controls removed.
    public var controls = 0
    /// Conversations that had history removed.
    public var conversations = 0
    /// Whether the horizon did not move: the store (or business) already had it or a later one.
    public var alreadyPurged = false
    /// Whether history before the horizon may remain (a purge in steps stopped at its limit).
    public var incomplete = false
}

/// What an erasure removed.
public struct ErasureSummary: Sendable, Hashable {
    /// Conversations removed.
    public var conversations = 0
    /// Messages removed (their charges are kept without the customer).
    public var messages = 0
    /// Controls removed.
    public var controls = 0
    /// Links from user ids removed.
    public var links = 0
}

extension Recorder {
    // MARK: Purge

    /// Moves the horizon to `horizon` (of the store, or of `business`) and purges what falls before
    /// it, at most `limit` conversations in this transaction.
    func purge(before horizon: Int64, business: String?, limit: Int = .max) throws -> PurgeSummary {
        var summary = PurgeSummary(horizon: horizon)
        let b = business.map { [UInt8](utf8: $0) }
        let current = try b.map { try self.reader.horizon(business: $0) } ?? self.reader.storeHorizon()
        if let current, current >= horizon {
            summary.horizon = current
            summary.alreadyPurged = true
        } else if let b {
            try self.txn.put(self.db.horizons, key: Keys.business(b), value: BigEndian.bytes(UInt64(horizon)))
        } else {
            try self.txn.put(self.db.meta, key: Keys.horizonKey, value: BigEndian.bytes(UInt64(horizon)))
        }
        self.horizonsChanged()
        let purgeBefore = summary.horizon
        var touched: [UInt32] = []
        if let b {
            try self.reader.forEachConversation(business: b) { _, id in
                if touched.count < limit, let oldest = try self.reader.conversation(id: id).oldest, oldest < purgeBefore { touched.append(id) }
            }
        } else {
            try self.txn.forEach(self.db.oldest, to: .exclusive(Keys.time(purgeBefore))) { key, _ in
                guard touched.count < limit else { return false }
                touched.append(BigEndian.read(UInt32.self, from: key, at: 8))
                return true
            }
        }
        var businesses = Set<[UInt8]>()
        for id in touched {
            let key = try self.reader.conversationKey(id: id)
            businesses.insert(key.business)
            let removed = try self.purgeConversation(id, key: key, before: purgeBefore)
            summary.messages += removed.messages
            summary.controls += removed.controls
            summary.conversations += 1
        }
        summary.incomplete = touched.count == limit && limit != .max
        for business in businesses { try self.purgeReachEdges(business: business, horizon: purgeBefore) }
        // Statuses waiting for their message stay: the message may still come, at or after the
        // horizon, and then takes them (a status belongs to its message, R6).
        return summary
    }

    /// Purges one conversation's messages and controls before `horizon` into its summary.
    private func purgeConversation(_ id: UInt32, key: ConversationKey, before horizon: Int64) throws -> (messages: Int, controls: Int) {
        let old = try self.reader.conversation(id: id)
        var c = old
        var purged = c.purged ?? PurgedHistory()
        var newlyPurgedInbound: [Int64] = []
        var removed: [(MessageKey, MessageRecord)] = []
        for direction in Direction.allCases {
            try self.txn.forEach(
                self.db.messages, from: .inclusive(Keys.messageBound(conversation: id, direction: direction, at: 0)),
                to: .exclusive(Keys.messageBound(conversation: id, direction: direction, at: horizon))
            ) { rawKey, value in
                removed.append((try MessageKey(decoding: rawKey), try MessageRecord(decoding: value)))
                return true
            }
        }
        for (messageKey, record) in removed {
            let t = messageKey.at
            if record.direction == .inbound {
                purged.messagesIn += 1
                purged.firstIn = min(purged.firstIn ?? t, t)
                purged.lastIn = max(purged.lastIn ?? t, t)
                if record.entryPoint != nil { purged.freeEntryAt = min(purged.freeEntryAt ?? t, t) }
                newlyPurgedInbound.append(t)
            } else {
                purged.messagesOut += 1
                if !record.isFailed { purged.lastOut = max(purged.lastOut ?? t, t) }
                if !record.isFailed && c.freeWindowStart == t { purged.freeWindowStart = t }
                try self.detachCharge(of: record, at: t, key: key)
                if record.isReach {
                    // The reach's interval stays in `reachEdges`: reached_24h after the horizon counts it.
                    purged.lastReach = max(purged.lastReach ?? t, t)
                    try self.txn.delete(self.db.reaches, key: Keys.reach(conversation: id, at: t))
                }
            }
            try self.txn.delete(self.db.messageIDs, key: Keys.messageID(business: key.business, id: record.id, seq: messageKey.seq))
            try self.txn.delete(self.db.messages, key: messageKey.encoded)
        }
        if newlyPurgedInbound.contains(where: { t in purged.lastOut.map { t > $0 } ?? true }) || purged.lastOut != old.purged?.lastOut {
            // The earliest purged inbound after the latest purged answer: newly purged ones are all
            // later than anything purged before, so only they can follow a new answer.
            let earlier = purged.lastOut == old.purged?.lastOut ? old.purged?.waitingSince : nil
            let fresh = newlyPurgedInbound.filter { t in purged.lastOut.map { t > $0 } ?? true }.min()
            purged.waitingSince = [earlier, fresh].compactMap { $0 }.min()
        }
        var controls: [(key: [UInt8], control: RecordedControl)] = []
        try self.txn.forEach(
            self.db.controls, from: .inclusive(BigEndian.bytes(id)), to: .exclusive(BigEndian.bytes(id) + [0xFF])
        ) { rawKey, value in
            var r = ByteReader(rawKey, database: "controls")
            _ = try r.u32()
            let group = try r.u8()
            let at = try r.time()
            if at < horizon, let g = ControlGroup(rawValue: group), value.count == 1, let action = ControlAction(rawValue: value[0]) {
                controls.append((Array(rawKey), RecordedControl(group: g, at: at, action: action)))
            }
            return true
        }
        for (rawKey, control) in controls {
            // In key order (group, time, sequence): the last of a group is the one in effect.
            purged.controls[control.group] = (control.action, control.at)
            try self.txn.delete(self.db.controls, key: rawKey)
        }
        c.purged = purged
        c.oldest = try self.oldestKeptEvent(of: id)
        try self.save(c, old: old, key: key)
        return (removed.count, controls.count)
    }

    /// Drops R8's intervals that ended a day before the horizon's midnight: no count at a time after
    /// the horizon can need them (reached(B, T) looks back to T's midnight only).
    private func purgeReachEdges(business: [UInt8], horizon: Int64) throws {
        let cutoff = UTCCalendar.start(ofDay: UTCCalendar.day(horizon)) - 86_400_000
        guard cutoff > 0 else { return }
        let endsBefore = Keys.reachEdge(business: business, edge: .end, minute: UTCCalendar.minute(cutoff))
        var ends: [(minuteKey: [UInt8], values: [[UInt8]])] = []
        try self.txn.forEach(
            self.db.reachEdges, from: .inclusive(Keys.reachEdge(business: business, edge: .end, minute: 0)), to: .exclusive(endsBefore)
        ) { key, value in
            if ends.last?.minuteKey.elementsEqual(key) == true {
                ends[ends.count - 1].values.append(Array(value))
            } else {
                ends.append((Array(key), [Array(value)]))
            }
            return true
        }
        for (minuteKey, values) in ends {
            for value in values {
                let (conversation, start) = try value.withUnsafeBytes { raw throws -> (UInt32, Int64) in
                    var r = ByteReader(raw, database: "reachEdges")
                    _ = try r.time()
                    return (try r.u32(), try r.time())
                }
                try self.deleteEdge(business: business, edge: .start, at: start, conversation: conversation)
            }
            try self.txn.delete(self.db.reachEdges, key: minuteKey)
        }
        var days: [[UInt8]] = []
        try self.txn.forEach(
            self.db.reachDays, from: .inclusive(Keys.reachDay(business: business, day: 0)),
            to: .exclusive(Keys.reachDay(business: business, day: UTCCalendar.day(cutoff)))
        ) { key, _ in
            days.append(Array(key))
            return true
        }
        for key in days { try self.txn.delete(self.db.reachDays, key: key) }
    }

    // MARK: Erasure

    /// Removes every trace of a customer: its conversations (with every business, or only with
    /// `business`), messages, bodies, statuses, controls, index entries, keys and user-id links.
    /// Charges stay, without the customer.
    func erase(customer: String, business: String?) throws -> ErasureSummary {
        var summary = ErasureSummary()
        var customers = [[UInt8](utf8: customer)]
        // A user id stands for its phone number's conversation; a phone number's user ids go with it.
        if CustomerID.isUserID(customer) {
            if let business {
                let resolved = try self.reader.resolvedCustomer(business: [UInt8](utf8: business), customer: customer)
                if resolved != customer { customers.append([UInt8](utf8: resolved)) }
            } else {
                var phones: [[UInt8]] = []
                try self.txn.forEach(self.db.identities) { key, value in
                    var r = ByteReader(key, database: "identities")
                    _ = try r.ordered()
                    if try r.u8() == 1, Array(key[r.offset...]) == customers[0] { phones.append(Array(value)) }
                    return true
                }
                customers.append(contentsOf: phones)
            }
        }
        let only = business.map { [UInt8](utf8: $0) }
        for c in Set(customers) {
            for (b, id) in try self.reader.conversations(ofCustomer: c) where only == nil || only == b {
                let key = ConversationKey(business: b, customer: c)
                let record = try self.reader.conversation(id: id)
                let removed = try self.eraseConversation(record, key: key, keepCharges: true)
                summary.conversations += 1
                summary.messages += removed.messages
                summary.controls += removed.controls
            }
            // Links naming the customer: by phone number, and from a user id.
            var businesses: [[UInt8]] = only.map { [$0] } ?? []
            if only == nil {
                try self.txn.forEach(self.db.identities) { key, _ in
                    var r = ByteReader(key, database: "identities")
                    let b = try r.ordered()
                    if businesses.last != b { businesses.append(b) }
                    return true
                }
            }
            for b in businesses {
                for userID in try self.linkedUserIDs(business: b, phone: c) {
                    try self.txn.delete(self.db.identities, key: Keys.identity(business: b, userID: userID))
                    try self.txn.delete(self.db.identities, key: Keys.identityByPhone(business: b, phone: c, userID: userID))
                    summary.links += 1
                }
                if let phone = try self.txn.value(self.db.identities, key: Keys.identity(business: b, userID: c)) {
                    try self.txn.delete(self.db.identities, key: Keys.identity(business: b, userID: c))
                    try self.txn.delete(self.db.identities, key: Keys.identityByPhone(business: b, phone: phone, userID: c))
                    summary.links += 1
                }
            }
        }
        try self.identitiesChanged()
        return summary
    }

    /// Removes one conversation whole. Its charges are kept without it (`keepCharges`), or removed
    /// (a merge records them again elsewhere).
    @discardableResult
    func eraseConversation(_ c: ConversationRecord, key: ConversationKey, keepCharges: Bool) throws -> (messages: Int, controls: Int) {
        // Reaches first, latest to earliest, so no interval is left pointing at a removed one.
        var reaches: [Int64] = []
        try self.txn.forEach(
            self.db.reaches, from: .inclusive(BigEndian.bytes(c.id)), to: .exclusive(BigEndian.bytes(c.id + 1))
        ) { rawKey, value in
            let count = BigEndian.read(UInt32.self, from: value)
            for _ in 0..<count { reaches.append(Int64(bitPattern: BigEndian.read(UInt64.self, from: rawKey, at: 4))) }
            return true
        }
        for t in reaches.reversed() { try self.removeReach(conversation: c, business: key.business, at: t) }
        if let last = c.purged?.lastReach {
            // The purged reach's interval, if a purge kept its edges, now runs its full 24 hours.
            let end = last + 86_400_000
            if try self.deleteEdge(business: key.business, edge: .start, at: last, conversation: c.id) {
                try self.deleteEdge(business: key.business, edge: .end, at: end, conversation: c.id, start: last)
                try self.adjustReachMidnights(business: key.business, from: last, to: end, by: -1)
            }
        }
        let messages = try self.reader.messages(of: c.id)
        for (messageKey, record) in messages {
            if record.direction == .outbound {
                if keepCharges {
                    try self.detachCharge(of: record, at: messageKey.at, key: key)
                } else {
                    try self.removeCharge(of: record, at: messageKey.at, key: key)
                }
            }
            try self.txn.delete(self.db.messageIDs, key: Keys.messageID(business: key.business, id: record.id, seq: messageKey.seq))
            try self.txn.delete(self.db.messages, key: messageKey.encoded)
        }
        var controls: [[UInt8]] = []
        try self.txn.forEach(self.db.controls, from: .inclusive(BigEndian.bytes(c.id)), to: .exclusive(BigEndian.bytes(c.id) + [0xFF])) { rawKey, _ in
            controls.append(Array(rawKey))
            return true
        }
        for rawKey in controls { try self.txn.delete(self.db.controls, key: rawKey) }
        let sla = try self.replySLA(key.business)
        try self.indexes.move(key, from: IndexedState(c, replySLA: sla, settings: self.settings), to: .none)
        if let oldest = c.oldest { try self.txn.delete(self.db.oldest, key: Keys.oldest(at: oldest, conversation: c.id)) }
        try self.txn.delete(self.db.messages, key: Keys.conversationRecord(c.id))
        try self.txn.delete(self.db.conversations, key: key.encoded)
        try self.txn.delete(self.db.customers, key: Keys.customer(key.customer, business: key.business))
        try self.txn.delete(self.db.conversationKeys, key: BigEndian.bytes(c.id))
        return (messages.count, controls.count)
    }
}
