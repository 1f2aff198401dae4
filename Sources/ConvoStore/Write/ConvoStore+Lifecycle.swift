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

    /// Erases a customer (GDPR article 17) in one commit; see ``StoreWriter/erase(customer:business:)``.
    /// Freed pages keep the bytes until ``compact()`` rewrites the store.
    public func erase(customer: String, business: String? = nil) throws -> ErasureSummary {
        try self.write { try $0.erase(customer: customer, business: business) }
    }
}
