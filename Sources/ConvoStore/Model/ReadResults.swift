// The public values the read side returns: conversation states, scan entries, billing, history.

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

/// One entry of a walk of the time-first due index, read where it lies in the memory map: its
/// times are decoded, its ids are found and made into Strings only when asked for. It exists only
/// during the call of the walk's closure (it cannot be copied out of it); ``conversation`` is the
/// value to keep.
///
/// For walks that count, or filter by time before they keep anything: making the two Strings is most
/// of what a ``WaitingConversation`` costs (docs/performance.md). The ids are read on demand, so a
/// damaged key is found (and thrown) when they are asked for.
public struct WaitingEntry: ~Copyable {
    /// When the reply is due.
    public let replyDueAt: Int64
    /// The earliest unanswered inbound.
    public let waitingSince: Int64
    private let key: UnsafeRawBufferPointer

    /// Decodes the times of a `dueByTime` key and value borrowed from the map.
    init(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws(ConvoStoreError) {
        // Decoded into locals first: a noncopyable value is initialized on every path or on none.
        var r = ByteReader(key, database: Self.database)
        let replyDueAt = try r.time()
        let waitingSince = try Keys.decodeWaitingSince(value, database: Self.database)
        (self.replyDueAt, self.waitingSince, self.key) = (replyDueAt, waitingSince, key)
    }

    /// The business.
    public var business: String {
        get throws(ConvoStoreError) {
            var r = self.idReader()
            return ByteReader.string(of: try r.orderedID(), in: self.key)
        }
    }

    /// The customer.
    public var customer: String {
        get throws(ConvoStoreError) { ByteReader.string(of: try self.ids().customer, in: self.key) }
    }

    /// The entry as a value to keep.
    public var conversation: WaitingConversation {
        get throws(ConvoStoreError) {
            let ids = try self.ids()
            return WaitingConversation(
                business: ByteReader.string(of: ids.business, in: self.key), customer: ByteReader.string(of: ids.customer, in: self.key),
                waitingSince: self.waitingSince, replyDueAt: self.replyDueAt)
        }
    }

    private static let database = "dueByTime"

    /// A reader at the business id, just after the due time.
    private func idReader() -> ByteReader {
        var r = ByteReader(self.key, database: Self.database)
        r.offset = 8
        return r
    }

    /// Both ids, checked to end the key; the customer's String alone is then made without the business's.
    private func ids() throws(ConvoStoreError) -> (business: OrderedID, customer: OrderedID) {
        var r = self.idReader()
        let business = try r.orderedID()
        let customer = try r.orderedID()
        try r.expectEnd()
        return (business, customer)
    }
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
    public var charged: [ChargeCategory: Int] = [:]
    /// Allowed messages that cost nothing.
    public var free = 0
    /// Messages per violated rule (never charged).
    public var violations: [Violation: Int] = [:]
    /// The total, in micro-units of currency: each charged message at the rate of its market, its
    /// time and its monthly rank (R7).
    public var amountMicros: Int64 = 0
    /// Per market with at least one charged message: its charges and their total.
    public var markets: [String: MarketCharges] = [:]
    /// Messages that failed (R6): neither charged nor violations.
    public var failed = 0
    /// The same messages as the platform's own pricing classed them (webhook statuses).
    public var platform = PlatformCharges()
}

/// One market's part of a ``BillingSummary``.
public struct MarketCharges: Sendable, Hashable {
    /// Charged messages per category.
    public var charged: [ChargeCategory: Int] = [:]
    /// Their total, in micro-units.
    public var amountMicros: Int64 = 0
}

/// What the platform's own pricing (statuses' `pricing`) said of a ``BillingSummary``'s messages.
public struct PlatformCharges: Sendable, Hashable {
    /// Messages the platform charged, per category.
    public var charged: [ChargeCategory: Int] = [:]
    /// Messages the platform said were free.
    public var free = 0
    /// Messages with no status that carried pricing.
    public var unpriced = 0
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


extension StoredMessage {
    /// A stored message from its key and record, with the conversation's parties.
    init(key: MessageKey, record: MessageRecord, business: String, customer: String) {
        let message = Message(
            id: String(utf8Bytes: record.id), business: business, customer: customer, direction: record.direction,
            at: key.at, kind: String(utf8Bytes: record.kind), category: record.category, body: record.body,
            bodyIsText: record.bodyIsText, entryPoint: record.entryPoint)
        self.init(message: message, outcome: record.outcome, status: record.status, statusAt: record.statusAt,
                  position: HistoryPosition(at: key.at, seq: key.seq))
    }
}
