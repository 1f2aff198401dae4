import LMDB

/// The read side of one snapshot, valid only inside ``ConvoStore/read(_:)`` (or a ``StoreWriter``).
public struct StoreReader {
    let reader: ConversationReader
    var txn: ReadTransaction { self.reader.txn }
    var db: Databases { self.reader.db }
    var settings: StoreSettings { self.reader.settings }

    /// How far the store has applied an external log (``StoreWriter/setLogPosition(_:of:)``); `nil`
    /// if it never recorded a position of that log.
    public func logPosition(of log: String) throws -> UInt64? {
        try self.txn.get(self.db.checkpoints, key: Keys.logPosition(log)).map { raw throws(ConvoStoreError) in
            guard raw.count == 8 else { throw .corruptRecord(database: "checkpoints", detail: "log position of \(raw.count) bytes") }
            return BigEndian.read(UInt64.self, from: raw, at: 0)
        }
    }

    /// One conversation's state, with its window evaluated at `at`; `nil` if there is none.
    public func conversation(business: String, customer: String, at: Int64) throws -> ConversationState? {
        let b = [UInt8](utf8: business)
        guard let c = try self.reader.conversation(key: Keys.conversation(business: b, customer: [UInt8](utf8: customer))) else {
            return nil
        }
        let sla = try self.reader.replySLA(business: b)
        let context = try self.reader.sendContext(c, at: at, controls: nil, freeWindowStart: c.freeWindowStart)
        return ConversationState(
            business: business, customer: customer,
            windowExpiresAt: c.windowExpiresAt(self.settings),
            waitingSince: c.waitingSince, replyDueAt: c.waitingSince.map { $0 + sla },
            evaluatedAt: at, windowOpen: context.windowOpen,
            canSendFreeform: SendRules.classify(isTemplate: false, category: nil, context: context).isAllowed,
            blocked: c.flags.blocked, restricted: c.flags.contains(.restricted),
            marketingOptOut: c.flags.contains(.marketingOptedOut),
            messagesIn: Int(c.messagesIn), messagesOut: Int(c.messagesOut),
            freeWindow: c.freeWindowStart.map { $0..<($0 + self.settings.freeEntryWindowMillis) })
    }

    /// Whether an outbound message would be allowed at `at`, and its class (R4), without recording it.
    public func checkSend(business: String, customer: String, at: Int64, kind: String = "text", category: TemplateCategory? = nil) throws -> SendOutcome {
        let key = Keys.conversation(business: [UInt8](utf8: business), customer: [UInt8](utf8: customer))
        let isTemplate = kind == "template"
        return try self.reader.classifyProspective(try self.reader.conversation(key: key), at: at, isTemplate: isTemplate, category: isTemplate ? category : nil)
    }

    /// What an outbound message to `customer` at `at` would cost if it were sent now, classed
    /// `outcome` (from ``checkSend(business:customer:at:kind:category:)``): the rate of its market, of
    /// the card in force at `at`, at the rank it would take in its month (after the messages
    /// recorded at `at`).
    public func price(business: String, customer: String, at: Int64, outcome: SendOutcome) throws -> Int64 {
        guard case .charged(let category) = outcome else { return 0 }
        let at = min(max(at, 0), Limits.times.upperBound)
        let market = Markets.market(ofCustomer: customer)
        let rank = try self.reader.chargeRank(business: [UInt8](utf8: business), market: market, category: category, at: at, id: [0xFF])
        return try self.reader.rateBook().price(market: market.name, category: category, at: at, rank: rank)
    }

    /// A conversation's messages, newest first, `limit` at a time; pass the last one's `position` as
    /// `before` for the next page.
    public func history(business: String, customer: String, before: HistoryPosition? = nil, limit: Int = 50) throws -> [StoredMessage] {
        guard let c = try self.reader.conversation(key: Keys.conversation(business: [UInt8](utf8: business), customer: [UInt8](utf8: customer))) else {
            return []
        }
        var page: [StoredMessage] = []
        for direction in Direction.allCases {
            let upper: KeyBound = before.map {
                .exclusive(Keys.message(conversation: c.id, direction: direction, at: $0.at, seq: $0.seq))
            } ?? .exclusive(Keys.messageBound(conversation: c.id, direction: direction, at: -1))
            let lower = Keys.messageBound(conversation: c.id, direction: direction, at: 0)
            var taken = 0
            try self.txn.forEach(self.db.messages, from: .inclusive(lower), to: upper, reverse: true) { key, value in
                page.append(StoredMessage(key: try MessageKey(decoding: key), record: try MessageRecord(decoding: value), business: business, customer: customer))
                taken += 1
                return taken < limit
            }
        }
        page.sort { $0.position > $1.position }
        return Array(page.prefix(limit))
    }
}
