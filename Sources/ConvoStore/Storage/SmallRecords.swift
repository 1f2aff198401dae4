import LMDB

// The small codecs: a message key parsed, a billing entry, a status waiting for its message.

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
