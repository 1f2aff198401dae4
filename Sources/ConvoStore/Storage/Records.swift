import LMDB

/// A conversation's derived state, kept up to date on every event (hand-written codec: it is read on
/// every event and every send check, straight from the map).
struct ConversationRecord: Equatable {
    static let encodedCount = 61

    var id: UInt32
    /// The earliest inbound (R4: "the customer wrote at or before t").
    var firstIn: Int64?
    /// The latest inbound (R1: window_expires_at = lastIn + window).
    var lastIn: Int64?
    /// The latest outbound (R2: any outbound answers).
    var lastOut: Int64?
    /// The earliest inbound after lastOut (R2).
    var waitingSince: Int64?
    /// The earliest inbound that carried an entry point (R3).
    var freeEntryAt: Int64?
    /// The first outbound within the reply time of freeEntryAt: the start of the free window (R3).
    var freeWindowStart: Int64?
    var messagesIn: UInt32 = 0
    var messagesOut: UInt32 = 0
    /// The state after all recorded controls (R5).
    var flags: ConversationFlags = []

    init(id: UInt32) { self.id = id }

    func windowExpiresAt(_ settings: StoreSettings) -> Int64? { self.lastIn.map { $0 + settings.windowMillis } }

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.encodedCount)
        w.u32(self.id)
        w.optionalTime(self.firstIn)
        w.optionalTime(self.lastIn)
        w.optionalTime(self.lastOut)
        w.optionalTime(self.waitingSince)
        w.optionalTime(self.freeEntryAt)
        w.optionalTime(self.freeWindowStart)
        w.u32(self.messagesIn)
        w.u32(self.messagesOut)
        w.u8(self.flags.rawValue)
        return w.bytes
    }

    init(decoding buffer: UnsafeRawBufferPointer) throws(ConvoStoreError) {
        var r = ByteReader(buffer, database: "conversations")
        self.id = try r.u32()
        self.firstIn = try r.optionalTime()
        self.lastIn = try r.optionalTime()
        self.lastOut = try r.optionalTime()
        self.waitingSince = try r.optionalTime()
        self.freeEntryAt = try r.optionalTime()
        self.freeWindowStart = try r.optionalTime()
        self.messagesIn = try r.u32()
        self.messagesOut = try r.u32()
        self.flags = ConversationFlags(rawValue: try r.u8())
        try r.expectEnd()
    }
}

/// A message as stored: everything from the event but business and customer (in the conversation
/// key), plus its classification and status.
struct MessageRecord: Equatable {
    var id: [UInt8]
    var direction: Direction
    var kind: [UInt8]
    var category: TemplateCategory?
    var body: [UInt8]?
    var bodyIsText: Bool
    var entryPoint: EntryPoint?
    /// R4's classification of an outbound message; `nil` for inbound.
    var outcome: SendOutcome?
    var status: MessageStatus?
    var statusAt: Int64?

    private struct Flags: OptionSet {
        let rawValue: UInt8
        static let outbound = Flags(rawValue: 1)
        static let hasCategory = Flags(rawValue: 2)
        static let hasBody = Flags(rawValue: 4)
        static let bodyIsBytes = Flags(rawValue: 8)
        static let hasEntryPoint = Flags(rawValue: 16)
        static let hasOutcome = Flags(rawValue: 32)
        static let hasStatus = Flags(rawValue: 64)
    }

    var isTemplate: Bool { self.kind == Array("template".utf8) }

    init(_ message: Message) {
        self.id = Array(message.id.utf8)
        self.direction = message.direction
        self.kind = Array(message.kind.utf8)
        self.category = message.isTemplate ? message.category : nil
        self.body = message.body
        self.bodyIsText = message.bodyIsText
        self.entryPoint = message.direction == .inbound ? message.entryPoint : nil
    }

    func encoded() -> [UInt8] {
        var flags: Flags = []
        if self.direction == .outbound { flags.insert(.outbound) }
        if self.category != nil { flags.insert(.hasCategory) }
        if self.body != nil { flags.insert(.hasBody) }
        if !self.bodyIsText { flags.insert(.bodyIsBytes) }
        if self.entryPoint != nil { flags.insert(.hasEntryPoint) }
        if self.outcome != nil { flags.insert(.hasOutcome) }
        if self.status != nil { flags.insert(.hasStatus) }
        var w = ByteWriter(capacity: 16 + self.id.count + self.kind.count + (self.body?.count ?? 0))
        w.u8(flags.rawValue)
        w.u8(self.category?.rawValue ?? 0)
        w.u8(self.outcome?.code ?? 0)
        w.u8(self.status?.rawValue ?? 0)
        if self.status != nil { w.optionalTime(self.statusAt) }
        w.short(self.id)
        w.short(self.kind)
        if let entry = self.entryPoint {
            w.short(Array(entry.source.utf8))
            w.short(Array(entry.id.utf8))
        }
        if let body = self.body { w.long(body) }
        return w.bytes
    }

    init(decoding buffer: UnsafeRawBufferPointer) throws(ConvoStoreError) {
        var r = ByteReader(buffer, database: "messages")
        let flags = Flags(rawValue: try r.u8())
        let category = try r.u8()
        let outcome = try r.u8()
        let status = try r.u8()
        self.direction = flags.contains(.outbound) ? .outbound : .inbound
        if flags.contains(.hasCategory) {
            guard let c = TemplateCategory(rawValue: category) else {
                throw .corruptRecord(database: "messages", detail: "unknown category \(category)")
            }
            self.category = c
        } else {
            self.category = nil
        }
        if flags.contains(.hasOutcome) {
            guard let o = SendOutcome(code: outcome) else {
                throw .corruptRecord(database: "messages", detail: "unknown outcome \(outcome)")
            }
            self.outcome = o
        } else {
            self.outcome = nil
        }
        if flags.contains(.hasStatus) {
            guard let s = MessageStatus(rawValue: status) else {
                throw .corruptRecord(database: "messages", detail: "unknown status \(status)")
            }
            self.status = s
            self.statusAt = try r.optionalTime()
        } else {
            self.status = nil
            self.statusAt = nil
        }
        self.id = try r.short()
        self.kind = try r.short()
        if flags.contains(.hasEntryPoint) {
            let source = try r.short()
            let id = try r.short()
            // Repairing bad UTF-8 would grow a field past the 255 bytes `encoded()` can write back.
            guard let sourceText = String(validating: source, as: UTF8.self), let idText = String(validating: id, as: UTF8.self) else {
                throw .corruptRecord(database: "messages", detail: "entry point is not UTF-8")
            }
            self.entryPoint = EntryPoint(source: sourceText, id: idText)
        } else {
            self.entryPoint = nil
        }
        self.body = flags.contains(.hasBody) ? try r.long() : nil
        self.bodyIsText = !flags.contains(.bodyIsBytes)
        try r.expectEnd()
    }

    /// Whether `message` is the same message as this record (idempotent re-import).
    func sameContent(as other: MessageRecord) -> Bool {
        self.id == other.id && self.direction == other.direction && self.kind == other.kind
            && self.category == other.category && (self.body ?? []) == (other.body ?? [])
            && self.entryPoint == other.entryPoint
    }
}

/// The key of a message record, parsed.
struct MessageKey: Equatable {
    var conversation: UInt32
    var direction: Direction
    var at: Int64
    var seq: UInt64

    var encoded: [UInt8] { Keys.message(conversation: self.conversation, direction: self.direction, at: self.at, seq: self.seq) }

    init(conversation: UInt32, direction: Direction, at: Int64, seq: UInt64) {
        self.conversation = conversation
        self.direction = direction
        self.at = at
        self.seq = seq
    }

    init(decoding buffer: UnsafeRawBufferPointer, database: String = "messages") throws(ConvoStoreError) {
        var r = ByteReader(buffer, database: database)
        self.conversation = try r.u32()
        let d = try r.u8()
        guard let direction = Direction(rawValue: d) else {
            throw .corruptRecord(database: database, detail: "bad direction \(d) in message key")
        }
        self.direction = direction
        self.at = try r.time()
        self.seq = try r.u64()
        try r.expectEnd()
    }
}

/// A billing entry's value.
struct BillingEntry: Equatable {
    var outcome: SendOutcome
    var amount: Int64
    var conversation: UInt32

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 13)
        w.u8(self.outcome.code)
        w.u64(UInt64(bitPattern: self.amount))
        w.u32(self.conversation)
        return w.bytes
    }

    init(outcome: SendOutcome, amount: Int64, conversation: UInt32) {
        self.outcome = outcome
        self.amount = amount
        self.conversation = conversation
    }

    init(decoding buffer: UnsafeRawBufferPointer) throws(ConvoStoreError) {
        var r = ByteReader(buffer, database: "billing")
        let code = try r.u8()
        guard let outcome = SendOutcome(code: code) else {
            throw .corruptRecord(database: "billing", detail: "unknown outcome \(code)")
        }
        self.outcome = outcome
        self.amount = Int64(bitPattern: try r.u64())
        self.conversation = try r.u32()
        try r.expectEnd()
    }
}

/// A status that arrived before its message (R6), kept until the message does.
struct PendingStatus: Equatable {
    var status: MessageStatus
    var at: Int64

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 9)
        w.u8(self.status.rawValue)
        w.time(self.at)
        return w.bytes
    }

    init(status: MessageStatus, at: Int64) {
        self.status = status
        self.at = at
    }

    init(decoding buffer: UnsafeRawBufferPointer) throws(ConvoStoreError) {
        var r = ByteReader(buffer, database: "pendingStatus")
        let code = try r.u8()
        guard let status = MessageStatus(rawValue: code) else {
            throw .corruptRecord(database: "pendingStatus", detail: "unknown status \(code)")
        }
        self.status = status
        self.at = try r.time()
        try r.expectEnd()
    }
}
