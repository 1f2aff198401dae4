import LMDB

// The small codecs: a message key parsed, a status waiting for its message.

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

/// A status that arrived before its message (R6), kept until the message does.
struct PendingStatus: Equatable {
    var status: MessageStatus
    var at: Int64
    var pricing: PlatformPricing?

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 16)
        w.u8(self.status.rawValue)
        w.time(self.at)
        if let pricing = self.pricing {
            w.u8((pricing.type == nil ? 0 : 1) | (pricing.billable == nil ? 0 : 2) | (pricing.billable == true ? 4 : 0))
            w.short(Array(pricing.model.utf8))
            w.short(Array(pricing.category.utf8))
            if let type = pricing.type { w.short(Array(type.utf8)) }
        }
        return w.bytes
    }

    init(status: MessageStatus, at: Int64, pricing: PlatformPricing? = nil) {
        self.status = status
        self.at = at
        self.pricing = pricing
    }

    init(decoding buffer: UnsafeRawBufferPointer) throws(ConvoStoreError) {
        var r = ByteReader(buffer, database: "pendingStatus")
        let code = try r.u8()
        guard let status = MessageStatus(rawValue: code) else {
            throw .corruptRecord(database: "pendingStatus", detail: "unknown status \(code)")
        }
        self.status = status
        self.at = try r.time()
        if r.isAtEnd {
            self.pricing = nil
        } else {
            let flags = try r.u8()
            let model = String(utf8Bytes: try r.short())
            let category = String(utf8Bytes: try r.short())
            let type = flags & 1 != 0 ? String(utf8Bytes: try r.short()) : nil
            self.pricing = PlatformPricing(model: model, category: category, type: type, billable: flags & 2 != 0 ? flags & 4 != 0 : nil)
        }
        try r.expectEnd()
    }
}
