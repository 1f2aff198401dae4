import LMDB

// Index upkeep, next to the key layout it maintains: which entries of the time indexes a
// conversation's state calls for, and moving them when the state changes. The recorder moves them;
// check verifies them with the same definition.

/// The entries of the time indexes (KeyLayout.swift) that one conversation's state calls for.
struct IndexedState: Equatable {
    /// R2: the reply due time and the earliest unanswered inbound, while a reply is due and the
    /// conversation is not blocked.
    var due: (at: Int64, waitingSince: Int64)?
    /// R1: when the window closes, once the customer wrote.
    var windowExpiresAt: Int64?

    static let none = IndexedState(due: nil, windowExpiresAt: nil)

    init(due: (at: Int64, waitingSince: Int64)?, windowExpiresAt: Int64?) {
        self.due = due
        self.windowExpiresAt = windowExpiresAt
    }

    /// What `record` calls for under a business's reply SLA and the store's window.
    init(_ record: ConversationRecord?, replySLA: Int64, settings: StoreSettings) {
        guard let record else {
            self = .none
            return
        }
        if let since = record.waitingSince, !record.flags.blocked {
            self.due = (since + replySLA, since)
        }
        self.windowExpiresAt = record.windowExpiresAt(settings)
    }

    static func == (a: Self, b: Self) -> Bool {
        a.due?.at == b.due?.at && a.due?.waitingSince == b.due?.waitingSince && a.windowExpiresAt == b.windowExpiresAt
    }

    /// The due entries, keyed in `dueByTime` and `dueByBusiness`, valued by the waiting-since time.
    func dueEntries(_ key: ConversationKey) -> (byTime: [UInt8], byBusiness: [UInt8], value: [UInt8])? {
        self.due.map { due in
            (Keys.byTime(due.at, conversationKey: key.encoded),
             Keys.byBusiness(due.at, business: key.business, customer: key.customer),
             Keys.time(due.waitingSince))
        }
    }

    /// The expiry entries, keyed in `expiryByTime` and `expiryByBusiness` (empty values).
    func expiryEntries(_ key: ConversationKey) -> (byTime: [UInt8], byBusiness: [UInt8])? {
        self.windowExpiresAt.map { at in
            (Keys.byTime(at, conversationKey: key.encoded), Keys.byBusiness(at, business: key.business, customer: key.customer))
        }
    }
}

/// Moves a conversation's index entries from one state to the next inside a write transaction.
struct IndexUpkeep {
    let txn: WriteTransaction
    let db: Databases

    func move(_ key: ConversationKey, from old: IndexedState, to new: IndexedState) throws {
        if old.due?.at != new.due?.at || old.due?.waitingSince != new.due?.waitingSince {
            if let before = old.dueEntries(key) {
                try self.txn.delete(self.db.dueByTime, key: before.byTime)
                try self.txn.delete(self.db.dueByBusiness, key: before.byBusiness)
            }
            if let after = new.dueEntries(key) {
                try self.txn.put(self.db.dueByTime, key: after.byTime, value: after.value)
                try self.txn.put(self.db.dueByBusiness, key: after.byBusiness, value: after.value)
            }
        }
        if old.windowExpiresAt != new.windowExpiresAt {
            if let before = old.expiryEntries(key) {
                try self.txn.delete(self.db.expiryByTime, key: before.byTime)
                try self.txn.delete(self.db.expiryByBusiness, key: before.byBusiness)
            }
            if let after = new.expiryEntries(key) {
                try self.txn.put(self.db.expiryByTime, key: after.byTime, value: [])
                try self.txn.put(self.db.expiryByBusiness, key: after.byBusiness, value: [])
            }
        }
    }

    /// What is missing or wrong in the indexes for `state`, in words (for check).
    static func problems(_ key: ConversationKey, _ state: IndexedState, in txn: ReadTransaction, db: Databases) throws -> [String] {
        var problems: [String] = []
        if let due = state.dueEntries(key) {
            if try txn.value(db.dueByTime, key: due.byTime) != due.value || txn.value(db.dueByBusiness, key: due.byBusiness) != due.value {
                problems.append("the due index entry for \(Timestamp.format(state.due!.at)) is missing or wrong")
            }
        }
        if let expiry = state.expiryEntries(key) {
            if try !txn.contains(db.expiryByTime, key: expiry.byTime) || !txn.contains(db.expiryByBusiness, key: expiry.byBusiness) {
                problems.append("the window expiry index entry for \(Timestamp.format(state.windowExpiresAt!)) is missing")
            }
        }
        return problems
    }
}
