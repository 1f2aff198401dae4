import LMDB

/// A conversation's state (R1, R2, R5) and, at a time, its window and whether a free-form reply is allowed.
public struct ConversationState: Sendable, Hashable {
    /// The business.
    public var business: String
    /// The customer.
    public var customer: String
    /// Latest inbound + window; `nil` if the customer never wrote (R1).
    public var windowExpiresAt: Int64?
    /// The earliest inbound not yet answered (R2).
    public var waitingSince: Int64?
    /// waitingSince + the business's reply SLA (R2).
    public var replyDueAt: Int64?
    /// The time `windowOpen` and `canSendFreeform` were evaluated at.
    public var evaluatedAt: Int64
    /// Whether the customer service window is open at `evaluatedAt` (R1).
    public var windowOpen: Bool
    /// Whether a non-template message would be allowed at `evaluatedAt` (R4).
    public var canSendFreeform: Bool
    /// Either side's block is in effect after all controls (R5).
    public var blocked: Bool
    /// The customer restricted the business (R5).
    public var restricted: Bool
    /// The customer opted out of marketing (R5).
    public var marketingOptOut: Bool
    /// Inbound messages recorded.
    public var messagesIn: Int
    /// Outbound messages recorded.
    public var messagesOut: Int
    /// The free entry point window, if one opened (R3).
    public var freeWindow: Range<Int64>?
}

/// A conversation waiting for a reply, as listed by the overdue scans and the inbox.
public struct WaitingConversation: Sendable, Hashable {
    /// The business.
    public var business: String
    /// The customer.
    public var customer: String
    /// The earliest unanswered inbound.
    public var waitingSince: Int64
    /// When the reply is due.
    public var replyDueAt: Int64
}

/// A conversation whose window closes at a time.
public struct ClosingWindow: Sendable, Hashable {
    /// The business.
    public var business: String
    /// The customer.
    public var customer: String
    /// When its window closes.
    public var windowExpiresAt: Int64
}

/// What a business's outbound messages in a period cost, and what broke the rules.
public struct BillingSummary: Sendable, Hashable {
    /// The business.
    public var business: String
    /// Start of the period (inclusive), or `nil` for the beginning.
    public var from: Int64?
    /// End of the period (exclusive), or `nil` for no end.
    public var to: Int64?
    /// Charged messages per category.
    public var charged: [TemplateCategory: Int] = [:]
    /// Allowed messages that cost nothing.
    public var free = 0
    /// Messages per violated rule (never charged).
    public var violations: [Violation: Int] = [:]
    /// The total, in micro-units of currency.
    public var amountMicros: Int64 = 0
}

/// A message read back from the store.
public struct StoredMessage: Sendable, Hashable {
    /// The message as recorded.
    public var message: Message
    /// Its classification (outbound only).
    public var outcome: SendOutcome?
    /// Its latest status and when (R6).
    public var status: MessageStatus?
    /// When the status was reported.
    public var statusAt: Int64?
    /// A position for paging history: pass it as `before` for the next page.
    public var position: HistoryPosition
}

/// A position in a conversation's history (time, then recording order).
public struct HistoryPosition: Sendable, Hashable, Comparable {
    /// The message's time.
    public var at: Int64
    /// The order it was recorded in.
    public var seq: UInt64

    public static func < (a: Self, b: Self) -> Bool { (a.at, a.seq) < (b.at, b.seq) }
}

/// The read side of one snapshot, valid only inside ``ConvoStore/read(_:)`` (or a ``StoreWriter``).
public struct StoreReader {
    let reader: ConversationReader
    var txn: ReadTransaction { self.reader.txn }
    var db: Databases { self.reader.db }
    var settings: StoreSettings { self.reader.settings }

    /// One conversation's state, with its window evaluated at `at`; `nil` if there is none.
    public func conversation(business: String, customer: String, at: Int64) throws -> ConversationState? {
        let b = [UInt8](utf8: business)
        guard let c = try self.reader.conversation(key: Keys.conversation(business: b, customer: [UInt8](utf8: customer))) else {
            return nil
        }
        let sla = try self.reader.replySLA(business: b)
        let context = try self.reader.sendContext(c, at: at, controls: try self.reader.controlsIfAny(c), freeWindowStart: c.freeWindowStart)
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

    /// The price of an outcome under the store's rate card.
    public func amount(for outcome: SendOutcome) -> Int64 { self.reader.amount(for: outcome) }

    /// Conversations overdue at `asOf` (R2), by (replyDueAt, business, customer).
    public func overdue(asOf: Int64, business: String? = nil, limit: Int = .max) throws -> [WaitingConversation] {
        if let business {
            return try self.waiting(business: business, dueAtOrBefore: asOf, limit: limit)
        }
        return try self.waitingByTime(from: .unbounded, to: .exclusive(Keys.time(asOf + 1)), limit: limit)
    }

    /// Conversations whose reply fell due in `(after, until]` (R2), by (replyDueAt, business, customer).
    public func newlyOverdue(after: Int64, until: Int64, limit: Int = .max) throws -> [WaitingConversation] {
        guard after < until else { return [] }
        return try self.waitingByTime(from: .inclusive(Keys.time(after + 1)), to: .exclusive(Keys.time(until + 1)), limit: limit)
    }

    /// A business's waiting conversations by reply due time, overdue or not: an agent's inbox.
    public func inbox(business: String, limit: Int = .max) throws -> [WaitingConversation] {
        try self.waiting(business: business, dueAtOrBefore: .max - 1, limit: limit)
    }

    /// Conversations whose window closes in `[from, to)` (R2), by (windowExpiresAt, business, customer).
    public func windowsClosing(from: Int64, to: Int64, business: String? = nil, limit: Int = .max) throws -> [ClosingWindow] {
        guard from < to else { return [] }
        var out: [ClosingWindow] = []
        if let business {
            let b = [UInt8](utf8: business)
            try self.txn.forEach(
                self.db.expiryByBusiness, from: .inclusive(Keys.businessTimeBound(business: b, time: from)),
                to: .exclusive(Keys.businessTimeBound(business: b, time: to))
            ) { key, _ in
                var r = ByteReader(key, database: "expiryByBusiness")
                _ = try r.ordered()
                let at = try r.time()
                out.append(ClosingWindow(business: business, customer: try r.orderedString(), windowExpiresAt: at))
                return out.count < limit
            }
            return out
        }
        try self.txn.forEach(self.db.expiryByTime, from: .inclusive(Keys.time(from)), to: .exclusive(Keys.time(to))) { key, _ in
            var r = ByteReader(key, database: "expiryByTime")
            let at = try r.time()
            let b = try r.orderedString()
            let c = try r.orderedString()
            out.append(ClosingWindow(business: b, customer: c, windowExpiresAt: at))
            return out.count < limit
        }
        return out
    }

    /// Counts of the overdue index up to `asOf` without building results (for benchmarks and dashboards).
    public func countOverdue(asOf: Int64) throws -> Int {
        var count = 0
        try self.txn.forEach(self.db.dueByTime, to: .exclusive(Keys.time(asOf + 1))) { _, _ in
            count += 1
            return true
        }
        return count
    }

    /// Charges and violations of a business's outbound messages with time in `[from, to)` (R4).
    public func billing(business: String, from: Int64? = nil, to: Int64? = nil) throws -> BillingSummary {
        var summary = BillingSummary(business: business, from: from, to: to)
        let b = [UInt8](utf8: business)
        let lower = Keys.businessTimeBound(business: b, time: max(0, from ?? 0))
        let upper: KeyBound = to.map { .exclusive(Keys.businessTimeBound(business: b, time: max(0, $0))) } ?? .exclusive(Keys.business(b) + [0xFF])
        try self.txn.forEach(self.db.billing, from: .inclusive(lower), to: upper) { _, value in
            let entry = try BillingEntry(decoding: value)
            switch entry.outcome {
            case .free: summary.free += 1
            case .charged(let category): summary.charged[category, default: 0] += 1
            case .violation(let violation): summary.violations[violation, default: 0] += 1
            }
            summary.amountMicros += entry.amount
            return true
        }
        return summary
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
                page.append(try Self.storedMessage(key: key, value: value, business: business, customer: customer))
                taken += 1
                return taken < limit
            }
        }
        page.sort { $0.position > $1.position }
        return Array(page.prefix(limit))
    }

    static func storedMessage(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, business: String, customer: String) throws -> StoredMessage {
        let parsed = try MessageKey(decoding: key)
        let record = try MessageRecord(decoding: value)
        let message = Message(
            id: String(utf8Bytes: record.id), business: business, customer: customer, direction: record.direction,
            at: parsed.at, kind: String(utf8Bytes: record.kind), category: record.category, body: record.body,
            bodyIsText: record.bodyIsText, entryPoint: record.entryPoint)
        return StoredMessage(
            message: message, outcome: record.outcome, status: record.status, statusAt: record.statusAt,
            position: HistoryPosition(at: parsed.at, seq: parsed.seq))
    }

    // MARK: Index walks

    private func waitingByTime(from: KeyBound, to: KeyBound, limit: Int) throws -> [WaitingConversation] {
        var out: [WaitingConversation] = []
        guard limit > 0 else { return out }
        try self.txn.forEach(self.db.dueByTime, from: from, to: to) { key, value in
            var r = ByteReader(key, database: "dueByTime")
            let due = try r.time()
            let b = try r.orderedString()
            let c = try r.orderedString()
            var v = ByteReader(value, database: "dueByTime")
            out.append(WaitingConversation(business: b, customer: c, waitingSince: try v.time(), replyDueAt: due))
            return out.count < limit
        }
        return out
    }

    private func waiting(business: String, dueAtOrBefore: Int64, limit: Int) throws -> [WaitingConversation] {
        var out: [WaitingConversation] = []
        guard limit > 0 else { return out }
        let b = [UInt8](utf8: business)
        try self.txn.forEach(
            self.db.dueByBusiness, from: .inclusive(Keys.business(b)),
            to: .exclusive(Keys.businessTimeBound(business: b, time: dueAtOrBefore + 1))
        ) { key, value in
            var r = ByteReader(key, database: "dueByBusiness")
            _ = try r.ordered()
            let due = try r.time()
            let c = try r.orderedString()
            var v = ByteReader(value, database: "dueByBusiness")
            out.append(WaitingConversation(business: business, customer: c, waitingSince: try v.time(), replyDueAt: due))
            return out.count < limit
        }
        return out
    }
}

extension ConvoStore {
    /// One conversation's state at `at`; see ``StoreReader/conversation(business:customer:at:)``.
    public func conversation(business: String, customer: String, at: Int64) throws -> ConversationState? {
        try self.read { try $0.conversation(business: business, customer: customer, at: at) }
    }

    /// Whether an outbound message would be allowed at `at`; see ``StoreReader/checkSend(business:customer:at:kind:category:)``.
    public func checkSend(business: String, customer: String, at: Int64, kind: String = "text", category: TemplateCategory? = nil) throws -> SendOutcome {
        try self.read { try $0.checkSend(business: business, customer: customer, at: at, kind: kind, category: category) }
    }

    /// Conversations overdue at `asOf`; see ``StoreReader/overdue(asOf:business:limit:)``.
    public func overdue(asOf: Int64, business: String? = nil, limit: Int = .max) throws -> [WaitingConversation] {
        try self.read { try $0.overdue(asOf: asOf, business: business, limit: limit) }
    }

    /// Conversations newly overdue in `(after, until]`; see ``StoreReader/newlyOverdue(after:until:limit:)``.
    public func newlyOverdue(after: Int64, until: Int64, limit: Int = .max) throws -> [WaitingConversation] {
        try self.read { try $0.newlyOverdue(after: after, until: until, limit: limit) }
    }

    /// Windows closing in `[from, to)`; see ``StoreReader/windowsClosing(from:to:business:limit:)``.
    public func windowsClosing(from: Int64, to: Int64, business: String? = nil, limit: Int = .max) throws -> [ClosingWindow] {
        try self.read { try $0.windowsClosing(from: from, to: to, business: business, limit: limit) }
    }

    /// A business's waiting conversations by due time; see ``StoreReader/inbox(business:limit:)``.
    public func inbox(business: String, limit: Int = .max) throws -> [WaitingConversation] {
        try self.read { try $0.inbox(business: business, limit: limit) }
    }

    /// Charges and violations in `[from, to)`; see ``StoreReader/billing(business:from:to:)``.
    public func billing(business: String, from: Int64? = nil, to: Int64? = nil) throws -> BillingSummary {
        try self.read { try $0.billing(business: business, from: from, to: to) }
    }

    /// A page of history, newest first; see ``StoreReader/history(business:customer:before:limit:)``.
    public func history(business: String, customer: String, before: HistoryPosition? = nil, limit: Int = 50) throws -> [StoredMessage] {
        try self.read { try $0.history(business: business, customer: customer, before: before, limit: limit) }
    }
}
