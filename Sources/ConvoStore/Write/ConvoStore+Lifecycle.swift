import Foundation
import LMDB

// R9 in the store's API: purge before a horizon, erase a customer (docs/lifecycle.md).

extension StoreWriter {
    /// Purges history before `horizon` (of every business, or only `business`), in this transaction.
    /// A horizon after now is refused: it would reject every event that arrives until then.
    public func purge(before horizon: Int64, business: String? = nil) throws -> PurgeSummary {
        try Self.checkHorizon(horizon)
        if let business { try Limits.checkID(business, field: "business", limit: Limits.partyIDBytes) }
        return try self.recorder.purge(before: horizon, business: business)
    }

    /// Removes every trace of a customer but its charges, in this transaction. An unknown customer
    /// is ``ConvoStoreError/unknownCustomer(_:)``.
    public func erase(customer: String, business: String? = nil) throws -> ErasureSummary {
        try Limits.checkID(customer, field: "customer", limit: Limits.partyIDBytes)
        if let business { try Limits.checkID(business, field: "business", limit: Limits.partyIDBytes) }
        let summary = try self.recorder.erase(customer: customer, business: business)
        if summary.conversations == 0 && summary.links == 0 { throw ConvoStoreError.unknownCustomer(customer) }
        return summary
    }

    static func checkHorizon(_ horizon: Int64) throws {
        try Limits.checkTime(horizon, field: "before")
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        guard horizon <= now else {
            throw ConvoStoreError.invalidField(
                field: "before", reason: "\(Timestamp.format(horizon)) is in the future: a horizon after now would reject every event until then")
        }
    }
}

extension ConvoStore {
    /// Purges history before `horizon` in one commit (docs/lifecycle.md): messages (with bodies and
    /// statuses) and controls before it go, each conversation keeps a summary of them and their
    /// charges stay; events before the horizon are rejected from then on.
    public func purge(before horizon: Int64, business: String? = nil) throws -> PurgeSummary {
        try self.write { try $0.purge(before: horizon, business: business) }
    }

    /// How long the store keeps history, in milliseconds (R9); nil: everything is kept.
    public func retention() throws -> Int64? {
        try self.read { try $0.reader.retention() }
    }

    /// Keeps history for `millis` (at least a minute, at most 100 years), or everything (`nil`).
    /// Kept in the store; a process that opens it with ``StoreOptions/continuousRetention`` (this
    /// one included, from now on) purges what falls behind now minus `millis`, in small steps
    /// between group commits. Events before the horizon it sets are rejected from then on.
    public func setRetention(_ millis: Int64?) throws {
        if let millis, millis < 60_000 || millis > 100 * 366 * 86_400_000 {
            throw ConvoStoreError.invalidField(field: "retention", reason: "must be between 1 minute and 100 years, got \(millis) ms")
        }
        try self.write { writer in
            if let millis {
                try writer.recorder.txn.put(self.databases.meta, key: Keys.retentionKey, value: BigEndian.bytes(UInt64(millis)))
            } else {
                _ = try writer.recorder.txn.delete(self.databases.meta, key: Keys.retentionKey)
            }
        }
        if self.continuousRetention { self.writer.keepOnly(millis, clock: self.clock, of: self) }
    }

    /// Whether any conversation has history before `time` (the first entry of `oldest`): what
    /// continuous retention asks before it commits a step.
    func hasHistory(before time: Int64) throws -> Bool {
        try self.read { store in
            var found = false
            try store.txn.forEach(store.db.oldest, to: .exclusive(Keys.time(time))) { _, _ in
                found = true
                return false
            }
            return found
        }
    }

    /// Erases a customer (GDPR article 17) in one commit; see ``StoreWriter/erase(customer:business:)``.
    /// Freed pages keep the bytes until ``compact()`` rewrites the store.
    public func erase(customer: String, business: String? = nil) throws -> ErasureSummary {
        try self.write { try $0.erase(customer: customer, business: business) }
    }
}
