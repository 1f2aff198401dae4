import LMDB

/// A business's messaging limit and how many customers it reached (R8), as `limits` prints it.
public struct MessagingLimitStatus: Sendable, Hashable {
    /// The business.
    public var business: String
    /// The time `reached24h` is counted at.
    public var at: Int64
    /// The limit; nil when unlimited.
    public var limit: Int64?
    /// Distinct customers reached with a template outside their window in `(at - 24 h, at]`.
    public var reached24h: Int64

    /// Makes a status.
    public init(business: String, at: Int64, limit: Int64?, reached24h: Int64) {
        self.business = business
        self.at = at
        self.limit = limit
        self.reached24h = reached24h
    }
}

extension StoreReader {
    /// A business's messaging limit and the customers it reached in the 24 hours up to `at` (R8):
    /// exact at any time, in O(log n) and at most 1,440 per-minute counts.
    public func messagingLimit(business: String, at: Int64) throws -> MessagingLimitStatus {
        let b = [UInt8](utf8: business)
        let at = Limits.clampQuery(at)
        return MessagingLimitStatus(
            business: business, at: at, limit: try self.reader.messagingLimit(business: b), reached24h: try self.reader.reached(business: b, at: at))
    }

    /// The rate card's versions, in time order (R7).
    public func rateCard() throws -> [RateCardVersion] {
        try self.reader.rateBook().versions
    }
}

extension ConvoStore {
    /// A business's messaging limit and reached customers at `at`; see ``StoreReader/messagingLimit(business:at:)``.
    public func messagingLimit(business: String, at: Int64) throws -> MessagingLimitStatus {
        try self.read { try $0.messagingLimit(business: business, at: at) }
    }

    /// The rate card's versions; see ``StoreReader/rateCard()``.
    public func rateCard() throws -> [RateCardVersion] {
        try self.read { try $0.rateCard() }
    }

    /// Sets (nil: removes, making it unlimited) a business's messaging limit (R8), in its own commit.
    public func setMessagingLimit(business: String, limit: Int64?) throws {
        try self.write { try $0.setMessagingLimit(business: business, limit: limit) }
    }

    /// Loads a rate card from its CSV text (docs/contract.md): each version replaces the stored
    /// version of its `effective_from`, in one commit. Every stored message is priced with it from
    /// then on: amounts are computed from counts at query time, so loading costs O(rows), whatever
    /// the number of messages. A bad row rejects the whole text (`file:line: reason` per problem)
    /// and nothing changes.
    @discardableResult
    public func importRates(csv text: String, name: String) throws -> [RateCardVersion] {
        let versions = try RateCardCSV.parse(text, name: name)
        try self.write { writer in try writer.recorder.storeRates(versions) }
        return versions
    }
}

extension StoreWriter {
    /// Sets (nil: removes) a business's messaging limit (R8); any positive number.
    public func setMessagingLimit(business: String, limit: Int64?) throws {
        if let limit, limit <= 0 {
            throw ConvoStoreError.invalidField(field: "limit", reason: "must be a positive number of customers, got \(limit)")
        }
        try Limits.checkID(business, field: "business", limit: Limits.partyIDBytes)
        try self.recorder.setMessagingLimit(business: business, limit: limit)
    }
}

extension Recorder {
    /// Stores rate card versions, each replacing the stored one of its `effective_from`, and raises
    /// the rates generation so every process reads the new card.
    func storeRates(_ versions: [RateCardVersion]) throws {
        for version in versions {
            try self.txn.put(self.db.rates, key: BigEndian.bytes(UInt64(version.effectiveFrom)), value: version.encoded())
        }
        let generation = try self.txn.get(self.db.meta, key: Keys.ratesGenerationKey).map { BigEndian.read(UInt64.self, from: $0) } ?? 0
        try self.txn.put(self.db.meta, key: Keys.ratesGenerationKey, value: BigEndian.bytes(generation + 1))
    }
}
