import LMDB

/// The store's rate card as parsed objects, shared by every transaction of this process and parsed
/// again only when a commit changed it: `meta["rates"]` is a generation number that every card
/// import raises, so a transaction costs one lookup to know its cached book is current.
final class PricingCache: @unchecked Sendable {
    // @unchecked: `cached` is only touched under `lock`.
    private let lock = Locked<(generation: UInt64, book: RateBook)?>(nil)

    func book(_ reader: ConversationReader) throws -> RateBook {
        let generation = try reader.txn.get(reader.db.meta, key: Keys.ratesGenerationKey).map { raw -> UInt64 in
            guard raw.count == 8 else { throw ConvoStoreError.corruptRecord(database: "meta", detail: "rates generation of \(raw.count) bytes") }
            return BigEndian.read(UInt64.self, from: raw)
        } ?? 0
        if let cached = self.lock.withLock({ $0 }), cached.generation == generation { return cached.book }
        var versions: [RateCardVersion] = []
        try reader.txn.forEach(reader.db.rates) { key, value in
            guard key.count == 8 else { throw ConvoStoreError.corruptRecord(database: "rates", detail: "a key of \(key.count) bytes") }
            versions.append(try RateCardVersion(effectiveFrom: Int64(bitPattern: BigEndian.read(UInt64.self, from: key)), decoding: value))
            return true
        }
        let book = RateBook(versions: versions, defaults: reader.settings.rates)
        self.lock.withLock { $0 = (generation, book) }
        return book
    }
}
