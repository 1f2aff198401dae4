import LMDB

// The store's key layout, in one place. Every integer and time is big-endian, so byte order is
// numeric order. `ord(x)` is an id in order-preserving form (0x00 -> 0x00 0xFF, then 0x00 0x00), so
// that a key (ord(business), ord(customer)) sorts by business bytes, then customer bytes. Times are
// epoch milliseconds (u64); `day` and `minute` are whole UTC days and minutes since the epoch (u32).
// `seq` is a store-wide counter that makes keys unique and orders events that share a millisecond
// by the order they were recorded. Record values end with a CRC-32C of the rest (Checksum.swift).
//
// | database       | key                                          | value                                  |
// |----------------|----------------------------------------------|----------------------------------------|
// | meta           | "format" / "settings" / "counters" / "horizon" / "rates" / "retention" | u32 / JSON / nextConversation u32, nextSeq u64 / u64 / generation u64 / ms u64 |
// | conversations  | ord(business) ord(customer)                  | conv u32 (written once, at creation)   |
// | customers      | ord(customer) ord(business)                  | conv u32: a customer's conversations (erasure) |
// | conversationKeys | conv u32                                   | ord(business) ord(customer): a conversation's key by its id |
// | messages       | conv u32                                     | ConversationRecord (+ purged summary)  |
// |                | conv u32, direction u8, at u64, seq u64      | MessageRecord                          |
// | messageIDs     | idHash u64, seq u64                          | messages key (21 bytes)                |
// | pendingStatus  | ord(business) id                             | status u8, at u64 [, pricing] (a status before its message) |
// | controls       | conv u32, group u8, at u64, seq u64          | action u8                              |
// | dueByTime      | replyDueAt u64, ord(business) ord(customer)  | waitingSince u64                       |
// | dueByBusiness  | ord(business), replyDueAt u64, ord(customer) | waitingSince u64                       |
// | expiryByTime   | windowExpiresAt u64, ord(business) ord(customer) | (empty)                            |
// | expiryByBusiness | ord(business), windowExpiresAt u64, ord(customer) | (empty)                         |
// | charges (dupsort) | ord(business), market, class u8, day u32, platform u8 | at u64, 1, message id — or at u64, 0, seq u64 for a charge kept without its message |
// | rates          | effectiveFrom u64                            | RateCardVersion (its rows)             |
// | businessSLA    | ord(business)                                | replySLA u64 (ms)                      |
// | messagingLimits | ord(business)                               | limit u64 (R8; absent: unlimited)      |
// | reaches        | conv u32, at u64                             | templates u32 (R8: reaches of one conversation at one time) |
// | reachEdges (dupsort) | ord(business), edge u8 (0 start, 1 end), minute u32 | at u64, conv u32 (an end: and its start u64) |
// | reachDays      | ord(business), day u32                       | customers reached at the day's start u32 |
// | oldest         | at u64, conv u32                             | (empty): each conversation by its oldest event (purge) |
// | horizons       | ord(business)                                | horizon u64 (R9, `purge --business`)   |
// | identities     | ord(business), 1, user id                    | phone number (a user id's customer)    |
// |                | ord(business), 2, ord(phone), user id        | (empty): the user ids of a phone number (erasure) |
// | checkpoints    | "import:" + canonical path of the input      | Checkpoint: version u8, offset, line, rejects length, prefix hash, six counts (u64 each) |
// |                | "log:" + the name of an external log          | position u64: how far the store has applied that log (a stream sequence) |
//
// messageIDs finds a message by its id: `idHash` is a 64-bit hash of ord(business) id, and `seq` the
// message's own (unique), so that ids of one hash all stay. A lookup walks the entries of the hash
// and keeps the one whose message has that id under that business (``ConversationReader/message(business:id:)``).
// The hash keeps the key at 16 bytes, whatever the id: the platform's ids run to 60 bytes, and the
// index's pages are the largest share of a live commit's writes (docs/performance.md, "Where a live
// event's pages go").
//
// A conversation's record sits in `messages` right before its messages, so the event that updates
// the record and adds a message usually dirties one leaf page, not two: a durable commit is bound
// by the pages it writes (docs/performance.md).
//
// dueBy* hold exactly the conversations with a reply due (R2) that are not blocked now, so an
// overdue scan is a cursor walk up to T. expiryBy* hold every conversation whose customer wrote.
// Scans cost O(log n + results).
//
// charges holds one value per outbound message (and per charge kept after a purge or an erasure),
// under the key of its business, market, billing class, UTC day and platform class. A key's values
// sort by (time, message id), the order of R7's volume ranks, and their number is one
// `mdb_cursor_count` away: billing for a range adds whole days' counts and walks only the values of
// the days it cuts; a message's rank is the counts of its month's earlier days plus its place in
// its day (docs/pricing.md). A charge kept without its message has no id (it could name the
// customer): it sorts before the messages of its millisecond.
//
// R8's reached(B, T) = reachDays(B, D) + starts in (D, T] - ends in (D, T], D the UTC midnight at or
// before T; reachEdges counts by minute with `mdb_cursor_count` (docs/pricing.md, "Messaging limits").
//
// A purged conversation's record carries a summary of its purged history (ConversationRecord.swift,
// docs/lifecycle.md); `oldest` finds the conversations with events before a purge's horizon.

/// The named databases of a store.
struct Databases: Sendable {
    let meta: Database
    let conversations: Database
    let customers: Database
    let conversationKeys: Database
    let messages: Database
    let messageIDs: Database
    let pendingStatus: Database
    let controls: Database
    let dueByTime: Database
    let dueByBusiness: Database
    let expiryByTime: Database
    let expiryByBusiness: Database
    let charges: Database
    let rates: Database
    let businessSLA: Database
    let messagingLimits: Database
    let reaches: Database
    let reachEdges: Database
    let reachDays: Database
    let oldest: Database
    let horizons: Database
    let identities: Database
    let checkpoints: Database

    /// How many named databases a store has (the environment is opened with room for them).
    static let count = 23

    init(_ txn: WriteTransaction) throws {
        self.meta = try txn.openDatabase("meta")
        self.conversations = try txn.openDatabase("conversations")
        self.customers = try txn.openDatabase("customers")
        self.conversationKeys = try txn.openDatabase("conversationKeys")
        self.messages = try txn.openDatabase("messages")
        self.messageIDs = try txn.openDatabase("messageIDs")
        self.pendingStatus = try txn.openDatabase("pendingStatus")
        self.controls = try txn.openDatabase("controls")
        self.dueByTime = try txn.openDatabase("dueByTime")
        self.dueByBusiness = try txn.openDatabase("dueByBusiness")
        self.expiryByTime = try txn.openDatabase("expiryByTime")
        self.expiryByBusiness = try txn.openDatabase("expiryByBusiness")
        self.charges = try txn.openDatabase("charges", flags: [.create, .dupSort])
        self.rates = try txn.openDatabase("rates")
        self.businessSLA = try txn.openDatabase("businessSLA")
        self.messagingLimits = try txn.openDatabase("messagingLimits")
        self.reaches = try txn.openDatabase("reaches")
        self.reachEdges = try txn.openDatabase("reachEdges", flags: [.create, .dupSort])
        self.reachDays = try txn.openDatabase("reachDays")
        self.oldest = try txn.openDatabase("oldest")
        self.horizons = try txn.openDatabase("horizons")
        self.identities = try txn.openDatabase("identities")
        self.checkpoints = try txn.openDatabase("checkpoints")
    }

    var all: [Database] {
        [meta, conversations, customers, conversationKeys, messages, messageIDs, pendingStatus, controls, dueByTime, dueByBusiness,
         expiryByTime, expiryByBusiness, charges, rates, businessSLA, messagingLimits, reaches, reachEdges, reachDays,
         oldest, horizons, identities, checkpoints]
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

    /// A status waiting for its message (`pendingStatus`): the business and the id themselves.
    static func pendingStatus(business: [UInt8], id: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: business.count + id.count + 2)
        w.ordered(business)
        w.raw(id)
        return w.bytes
    }

    /// The first 8 bytes of a `messageIDs` key: the hash of the business and the id. Stored in every
    /// store, so it must never change: 64-bit FNV-1a of `ord(business) id`, then the final mix of
    /// MurmurHash3 (FNV-1a alone leaves the high bytes, which decide the key's place, poorly mixed).
    static func messageIDHash(business: [UInt8], id: [UInt8]) -> [UInt8] { MessageIDHash.of(business: business, id: id) }

    /// A message's `messageIDs` key.
    static func messageID(business: [UInt8], id: [UInt8], seq: UInt64) -> [UInt8] {
        var key = Self.messageIDHash(business: business, id: id)
        BigEndian.append(seq, to: &key)
        return key
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

    /// The checkpoints key of an external log's position: `"log:" + name`.
    static func logPosition(_ log: String) -> [UInt8] { Array("log:\(log)".utf8) }

    /// A bound inside the business-first indexes: `ord(business), time`.
    static func businessTimeBound(business: [UInt8], time: Int64) -> [UInt8] {
        var w = ByteWriter(capacity: 10 + business.count)
        w.ordered(business)
        w.time(time)
        return w.bytes
    }

    /// A key of `customers`: `ord(customer) ord(business)`.
    static func customer(_ customer: [UInt8], business: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: business.count + customer.count + 4)
        w.ordered(customer)
        w.ordered(business)
        return w.bytes
    }

    /// A key of `reaches`: `conv, at`.
    static func reach(conversation: UInt32, at: Int64) -> [UInt8] {
        var w = ByteWriter(capacity: 12)
        w.u32(conversation)
        w.time(at)
        return w.bytes
    }

    /// A key of `reachEdges`: `ord(business), edge, minute`.
    static func reachEdge(business: [UInt8], edge: ReachEdge, minute: UInt32) -> [UInt8] {
        var w = ByteWriter(capacity: business.count + 7)
        w.ordered(business)
        w.u8(edge.rawValue)
        w.u32(minute)
        return w.bytes
    }

    /// A value of `reachEdges`: `at, conv`, and for an end the start of its interval.
    static func reachEdgeValue(at: Int64, conversation: UInt32, start: Int64? = nil) -> [UInt8] {
        var w = ByteWriter(capacity: 20)
        w.time(at)
        w.u32(conversation)
        if let start { w.time(start) }
        return w.bytes
    }

    /// A key of `reachDays`: `ord(business), day`.
    static func reachDay(business: [UInt8], day: UInt32) -> [UInt8] {
        var w = ByteWriter(capacity: business.count + 6)
        w.ordered(business)
        w.u32(day)
        return w.bytes
    }

    /// A key of `oldest`: `at, conv`.
    static func oldest(at: Int64, conversation: UInt32) -> [UInt8] {
        var w = ByteWriter(capacity: 12)
        w.time(at)
        w.u32(conversation)
        return w.bytes
    }

    /// A key of `identities`: `ord(business), 1, user id` (its value: the phone number).
    static func identity(business: [UInt8], userID: [UInt8]) -> [UInt8] {
        var w = ByteWriter(capacity: business.count + userID.count + 3)
        w.ordered(business)
        w.u8(1)
        w.raw(userID)
        return w.bytes
    }

    /// A key of `identities` by phone number: `ord(business), 2, ord(phone)`, then a user id.
    static func identityByPhone(business: [UInt8], phone: [UInt8], userID: [UInt8] = []) -> [UInt8] {
        var w = ByteWriter(capacity: business.count + phone.count + userID.count + 5)
        w.ordered(business)
        w.u8(2)
        w.ordered(phone)
        w.raw(userID)
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
        _ = try r.orderedID()
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
struct ConversationKey: Equatable {
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

/// The hash of a `messageIDs` key, for the harness's raw engines to write the store's keys
/// (`@_spi(Benchmarks) import ConvoStore`); not part of the store's API.
@_spi(Benchmarks) public enum MessageIDHash {
    @_spi(Benchmarks) public static func of(business: [UInt8], id: [UInt8]) -> [UInt8] {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func add(_ byte: UInt8) { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        for byte in business {
            add(byte)
            if byte == 0 { add(0xFF) }  // ord(): 0x00 is written 0x00 0xFF, then 0x00 0x00 ends it
        }
        add(0)
        add(0)
        for byte in id { add(byte) }
        h ^= h >> 33
        h &*= 0xff51_afd7_ed55_8ccd
        h ^= h >> 33
        h &*= 0xc4ce_b9fe_1a85_ec53
        h ^= h >> 33
        return BigEndian.bytes(h)
    }
}
