import LMDB

// R7's entries: each outbound message has one value in `charges` (KeyLayout.swift, Charges.swift)
// under its business, market, billing class, UTC day and platform class. A re-classification, a
// failure or a new platform pricing moves it to another key; amounts are never stored, so a new
// rate card re-prices nothing: billing prices the counts with the card in force.

extension Recorder {
    /// The key of a message's charge entry.
    func chargeKey(of record: MessageRecord, at t: Int64, key: ConversationKey) -> ChargeKey {
        ChargeKey(
            business: key.business, market: Markets.market(ofCustomer: String(utf8Bytes: key.customer)),
            billingClass: BillingClass(outcome: record.outcome ?? .free, failed: record.isFailed),
            day: UTCCalendar.day(t), platform: PlatformClass(record.pricing))
    }

    /// Adds the charge entry of a new outbound message.
    func addCharge(of record: MessageRecord, at t: Int64, key: ConversationKey) throws {
        try self.txn.put(self.db.charges, key: self.chargeKey(of: record, at: t, key: key).encoded(), value: ChargeValue.message(at: t, id: record.id).encoded())
    }

    /// Moves an outbound message's charge entry to the key of its new class or platform pricing.
    func moveCharge(from before: MessageRecord, to after: MessageRecord, at t: Int64, key: ConversationKey) throws {
        let old = self.chargeKey(of: before, at: t, key: key)
        let new = self.chargeKey(of: after, at: t, key: key)
        guard old != new else { return }
        let value = ChargeValue.message(at: t, id: before.id).encoded()
        try self.txn.delete(self.db.charges, key: old.encoded(), value: value)
        try self.txn.put(self.db.charges, key: new.encoded(), value: value)
    }

    /// Keeps a message's charge without the message (purge, erasure): its value loses the message id
    /// (which may name the customer) and takes a sequence number; it then sorts before the messages of
    /// its millisecond.
    func detachCharge(of record: MessageRecord, at t: Int64, key: ConversationKey) throws {
        let chargeKey = self.chargeKey(of: record, at: t, key: key).encoded()
        try self.txn.delete(self.db.charges, key: chargeKey, value: ChargeValue.message(at: t, id: record.id).encoded())
        try self.txn.put(self.db.charges, key: chargeKey, value: ChargeValue.kept(at: t, seq: self.takeSeq()).encoded())
    }

    /// Removes a message's charge entry (a conversation merged into another records it again there).
    func removeCharge(of record: MessageRecord, at t: Int64, key: ConversationKey) throws {
        try self.txn.delete(self.db.charges, key: self.chargeKey(of: record, at: t, key: key).encoded(), value: ChargeValue.message(at: t, id: record.id).encoded())
    }
}
