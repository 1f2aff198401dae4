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


extension ConversationRecord: CustomStringConvertible {
    /// The state in domain words, for check's reports.
    var description: String {
        func time(_ t: Int64?) -> String { t.map(Timestamp.format) ?? "none" }
        var flags: [String] = []
        if self.flags.contains(.customerBlocked) { flags.append("blocked by the customer") }
        if self.flags.contains(.businessBlocked) { flags.append("blocked by the business") }
        if self.flags.contains(.restricted) { flags.append("restricted") }
        if self.flags.contains(.marketingOptedOut) { flags.append("marketing opt-out") }
        if self.flags.contains(.optedIn) { flags.append("opted in") }
        return "(\(self.messagesIn) in, \(self.messagesOut) out; first in \(time(self.firstIn)), last in \(time(self.lastIn)), "
            + "last out \(time(self.lastOut)), waiting since \(time(self.waitingSince)), entry point \(time(self.freeEntryAt)), "
            + "free window from \(time(self.freeWindowStart)); \(flags.isEmpty ? "no controls in effect" : flags.joined(separator: ", ")))"
    }
}
