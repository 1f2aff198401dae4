import LMDB

// The store's key layout, in one place. Every integer and time is big-endian, so byte order is
// numeric order. `ord(x)` is an id in order-preserving form (0x00 -> 0x00 0xFF, then 0x00 0x00), so
// that a key (ord(business), ord(customer)) sorts by business bytes, then customer bytes. Times are
// epoch milliseconds (u64). `seq` is a store-wide counter that makes keys unique and orders events
// that share a millisecond by the order they were recorded.
//
// | database       | key                                          | value                                  |
// |----------------|----------------------------------------------|----------------------------------------|
// | meta           | "format" / "settings" / "counters"           | u32 / JSON / nextConversation u32, nextSeq u64 |
// | conversations  | ord(business) ord(customer)                  | conv u32 (written once, at creation)   |
// | messages       | conv u32                                     | ConversationRecord (61 bytes)          |
// |                | conv u32, direction u8, at u64, seq u64      | MessageRecord                          |
// | messageIDs     | ord(business) id                             | messages key (21 bytes)                |
// | pendingStatus  | ord(business) id                             | status u8, at u64 (status before its message) |
// | controls       | conv u32, group u8, at u64, seq u64          | action u8                              |
// | dueByTime      | replyDueAt u64, ord(business) ord(customer)  | waitingSince u64                       |
// | dueByBusiness  | ord(business), replyDueAt u64, ord(customer) | waitingSince u64                       |
// | expiryByTime   | windowExpiresAt u64, ord(business) ord(customer) | (empty)                            |
// | expiryByBusiness | ord(business), windowExpiresAt u64, ord(customer) | (empty)                         |
// | billing        | ord(business), at u64, seq u64               | outcome u8, amount i64, conv u32       |
// | businessSLA    | ord(business)                                | replySLA u64 (ms)                      |
// | checkpoints    | "import:" + canonical path of the input      | Checkpoint: offset u64, line u64, rejects length u64, fingerprint u64 |
//
// A conversation's record sits in `messages` right before its messages, so the event that updates
// the record and adds a message usually dirties one leaf page, not two: a durable commit is bound
// by the pages it writes (docs/performance.md).
//
// dueBy* hold exactly the conversations with a reply due (R2) that are not blocked now, so an
// overdue scan is a cursor walk up to T. expiryBy* hold every conversation whose customer wrote.
// Scans cost O(log n + results).

/// The named databases of a store.
struct Databases: Sendable {
    let meta: Database
    let conversations: Database
    let messages: Database
    let messageIDs: Database
    let pendingStatus: Database
    let controls: Database
    let dueByTime: Database
    let dueByBusiness: Database
    let expiryByTime: Database
    let expiryByBusiness: Database
    let billing: Database
    let businessSLA: Database
    let checkpoints: Database

    init(_ txn: WriteTransaction) throws {
        self.meta = try txn.openDatabase("meta")
        self.conversations = try txn.openDatabase("conversations")
        self.messages = try txn.openDatabase("messages")
        self.messageIDs = try txn.openDatabase("messageIDs")
        self.pendingStatus = try txn.openDatabase("pendingStatus")
        self.controls = try txn.openDatabase("controls")
        self.dueByTime = try txn.openDatabase("dueByTime")
        self.dueByBusiness = try txn.openDatabase("dueByBusiness")
        self.expiryByTime = try txn.openDatabase("expiryByTime")
        self.expiryByBusiness = try txn.openDatabase("expiryByBusiness")
        self.billing = try txn.openDatabase("billing")
        self.businessSLA = try txn.openDatabase("businessSLA")
        self.checkpoints = try txn.openDatabase("checkpoints")
    }

    var all: [Database] {
        [meta, conversations, messages, messageIDs, pendingStatus, controls, dueByTime, dueByBusiness,
         expiryByTime, expiryByBusiness, billing, businessSLA, checkpoints]
    }
}

/// Key builders; see the table above.
enum Keys {
    static let messageKeyCount = 21
    static let conversationRecordKeyCount = 4

    /// The key of a conversation's record in `messages`: its id, which sorts before its messages.
    static func conversationRecord(_ id: UInt32) -> [UInt8] { BigEndian.bytes(id) }

    /// The bounds of a conversation's messages in `messages`: just after its record, and before any
    /// key of the next id (directions are < 0xFF).
    static func messages(of id: UInt32) -> (from: KeyBound, to: KeyBound) {
        let record = Self.conversationRecord(id)
        return (.exclusive(record), .exclusive(record + [0xFF]))
    }

    /// `ord(business) ord(customer)`: a conversation's key in `conversations`.
    static func conversation(business: [UInt8], customer: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: business.count + customer.count + 4)
        w.ordered(business)
        w.ordered(customer)
        return w.bytes
    }

    static func business(_ business: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: business.count + 2)
        w.ordered(business)
        return w.bytes
    }

    static func message(conversation: UInt32, direction: Direction, at: Int64, seq: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: messageKeyCount)
        w.u32(conversation)
        w.u8(direction.rawValue)
        w.time(at)
        w.u64(seq)
        return w.bytes
    }

    /// The first messages key of a conversation's messages in one direction at or after `at`.
    static func messageBound(conversation: UInt32, direction: Direction, at: Int64) -> [UInt8] {
        var w = ByteWriter(capacity: 13)
        w.u32(conversation)
        w.u8(direction.rawValue)
        w.time(at)
        return w.bytes
    }

    static func messageID(business: [UInt8], id: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: business.count + id.count + 2)
        w.ordered(business)
        w.raw(id)
        return w.bytes
    }

    static func control(conversation: UInt32, group: ControlGroup, at: Int64, seq: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: 21)
        w.u32(conversation)
        w.u8(group.rawValue)
        w.time(at)
        w.u64(seq)
        return w.bytes
    }

    /// Time-first index key: `time, ord(business) ord(customer)` (the conversation key).
    static func byTime(_ time: Int64, conversationKey: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: 8 + conversationKey.count)
        w.time(time)
        w.raw(conversationKey)
        return w.bytes
    }

    /// Business-first index key: `ord(business), time, ord(customer)`.
    static func byBusiness(_ time: Int64, business: [UInt8], customer: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: 12 + business.count + customer.count)
        w.ordered(business)
        w.time(time)
        w.ordered(customer)
        return w.bytes
    }

    /// A bound inside the business-first indexes: `ord(business), time`.
    static func businessTimeBound(business: [UInt8], time: Int64) -> [UInt8] {
        var w = ByteWriter(capacity: 10 + business.count)
        w.ordered(business)
        w.time(time)
        return w.bytes
    }

    static func billing(business: [UInt8], at: Int64, seq: UInt64) -> [UInt8] {
        var w = ByteWriter(capacity: 18 + business.count)
        w.ordered(business)
        w.time(at)
        w.u64(seq)
        return w.bytes
    }

    static func time(_ t: Int64) -> [UInt8] { BigEndian.bytes(UInt64(bitPattern: t)) }

    // MARK: Decoding the time indexes

    /// A time-first index key: `(time, business, customer)`.
    static func decodeByTime(_ key: UnsafeRawBufferPointer, database: String) throws(ConvoStoreError) -> (time: Int64, business: String, customer: String) {
        var r = ByteReader(key, database: database)
        let time = try r.time()
        let business = try r.orderedString()
        return (time, business, try r.orderedString())
    }

    /// A business-first index key: `(time, customer)`; the business is the walk's prefix.
    static func decodeByBusiness(_ key: UnsafeRawBufferPointer, database: String) throws(ConvoStoreError) -> (time: Int64, customer: String) {
        var r = ByteReader(key, database: database)
        _ = try r.ordered()
        let time = try r.time()
        return (time, try r.orderedString())
    }

    /// A due index value: the waiting-since time.
    static func decodeWaitingSince(_ value: UnsafeRawBufferPointer, database: String) throws(ConvoStoreError) -> Int64 {
        var r = ByteReader(value, database: database)
        let time = try r.time()
        try r.expectEnd()
        return time
    }
}

/// A conversation's parties as bytes and its key in `conversations`, built once per event.
struct ConversationKey {
    let business: [UInt8]
    let customer: [UInt8]
    /// `ord(business) ord(customer)`.
    let encoded: [UInt8]

    init(business: [UInt8], customer: [UInt8]) {
        self.business = business
        self.customer = customer
        self.encoded = Keys.conversation(business: business, customer: customer)
    }

    init(business: String, customer: String) {
        self.init(business: [UInt8](utf8: business), customer: [UInt8](utf8: customer))
    }

    /// Parses a `conversations` key.
    init(decoding key: UnsafeRawBufferPointer) throws(ConvoStoreError) {
        var r = ByteReader(key, database: "conversations")
        self.business = try r.ordered()
        self.customer = try r.ordered()
        try r.expectEnd()
        self.encoded = Array(key)
    }

    /// `business/customer`, for problem reports.
    var label: String { "\(Display.safe(String(utf8Bytes: self.business)))/\(Display.safe(String(utf8Bytes: self.customer)))" }
}

