import LMDB

/// A conversation's derived state, kept up to date on every event (hand-written codec: it is read on
/// every event and every send check, straight from the map). The times cover the whole history,
/// purged part included; `purged` keeps what R1 to R8 need of the purged part beyond them.
struct ConversationRecord: Equatable {
    var id: UInt32
    /// The earliest inbound (R4: "the customer wrote at or before t").
    var firstIn: Int64?
    /// The latest inbound (R1: window_expires_at = lastIn + window).
    var lastIn: Int64?
    /// The latest outbound that did not fail (R2: any outbound answers; R6: a failed one does not).
    var lastOut: Int64?
    /// The earliest inbound after lastOut (R2).
    var waitingSince: Int64?
    /// The earliest inbound that carried an entry point (R3).
    var freeEntryAt: Int64?
    /// The first outbound that did not fail within the reply time of freeEntryAt: the start of the
    /// free window (R3, R6).
    var freeWindowStart: Int64?
    /// Messages recorded, purged ones included.
    var messagesIn: UInt32 = 0
    var messagesOut: UInt32 = 0
    /// The state after all recorded controls (R5).
    var flags: ConversationFlags = []
    /// The time of its oldest kept event, message or control (its key in `oldest`, for the purge).
    var oldest: Int64?
    /// What is kept of history purged before the horizon (R9), if any was.
    var purged: PurgedHistory?
    /// The time of the latest control, purged ones included, when `flags` has ``ConversationFlags/hasControls``:
    /// at or after it, R5's state is `flags`, and the controls need not be read (the send check's
    /// common case). Nil in a record written before store format 4: then they are read.
    var lastControlAt: Int64?

    init(id: UInt32) { self.id = id }

    func windowExpiresAt(_ settings: StoreSettings) -> Int64? { self.lastIn.map { $0 + settings.windowMillis } }

    /// Takes the state after all of `controls` (not empty; purged ones included) and the time of the latest.
    mutating func summarize(controls: [RecordedControl]) {
        self.flags = ConversationReader.flags(of: controls, at: nil).union(.hasControls)
        self.lastControlAt = controls.map(\.at).max()
    }

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 82 + (self.purged == nil ? 0 : PurgedHistory.encodedCount))
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
        w.optionalTime(self.oldest)
        if let purged = self.purged {
            w.u8(1)
            purged.encode(into: &w)
        } else {
            w.u8(0)
        }
        if let last = self.lastControlAt { w.time(last) }  // format 4; only records with controls carry it
        w.seal()
        return w.bytes
    }

    init(decoding buffer: UnsafeRawBufferPointer) throws(ConvoStoreError) {
        var r = try ByteReader.sealed(buffer, database: "conversations")
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
        self.oldest = try r.optionalTime()
        switch try r.u8() {
        case 0: self.purged = nil
        case 1: self.purged = try PurgedHistory(decoding: &r)
        case let tag: throw .corruptRecord(database: "conversations", detail: "unknown summary tag \(tag)")
        }
        self.lastControlAt = r.isAtEnd ? nil : try r.time()
        try r.expectEnd()
    }
}

/// What a conversation keeps of its history purged before the horizon (R9, docs/lifecycle.md): with
/// the record's own times (which cover the whole history), enough for R1 to R8 to stay exact for
/// every event at or after the horizon.
struct PurgedHistory: Equatable {
    static let encodedCount = 8 + 8 * 7 + 5 * 9

    /// Purged messages, by direction.
    var messagesIn: UInt32 = 0
    var messagesOut: UInt32 = 0
    /// The earliest purged inbound (R4: consent).
    var firstIn: Int64?
    /// The earliest purged inbound with an entry point (R3).
    var freeEntryAt: Int64?
    /// The purged outbound that opened the free window (R3), if it was purged.
    var freeWindowStart: Int64?
    /// The latest purged inbound (R1: the window at a time after the horizon).
    var lastIn: Int64?
    /// The latest purged outbound that did not fail (R2: the answer, if no later one is kept).
    var lastOut: Int64?
    /// The earliest purged inbound after `lastOut` (R2: what waits, if no later answer is kept).
    var waitingSince: Int64?
    /// The latest purged reach (R8: reached_24h at times after the horizon).
    var lastReach: Int64?
    /// The latest purged control of each group (R5), by group.
    var controls: [ControlGroup: (action: ControlAction, at: Int64)] = [:]

    static func == (a: Self, b: Self) -> Bool {
        a.messagesIn == b.messagesIn && a.messagesOut == b.messagesOut && a.firstIn == b.firstIn && a.freeEntryAt == b.freeEntryAt
            && a.freeWindowStart == b.freeWindowStart && a.lastIn == b.lastIn && a.lastOut == b.lastOut
            && a.waitingSince == b.waitingSince && a.lastReach == b.lastReach
            && ControlGroup.allCases.allSatisfy { a.controls[$0]?.action == b.controls[$0]?.action && a.controls[$0]?.at == b.controls[$0]?.at }
    }

    func encode(into w: inout ByteWriter) {
        w.u32(self.messagesIn)
        w.u32(self.messagesOut)
        w.optionalTime(self.firstIn)
        w.optionalTime(self.freeEntryAt)
        w.optionalTime(self.freeWindowStart)
        w.optionalTime(self.lastIn)
        w.optionalTime(self.lastOut)
        w.optionalTime(self.waitingSince)
        w.optionalTime(self.lastReach)
        for group in ControlGroup.allCases {
            let control = self.controls[group]
            w.u8(control?.action.rawValue ?? 0xFF)
            w.optionalTime(control?.at)
        }
    }

    init() {}

    init(decoding r: inout ByteReader) throws(ConvoStoreError) {
        self.messagesIn = try r.u32()
        self.messagesOut = try r.u32()
        self.firstIn = try r.optionalTime()
        self.freeEntryAt = try r.optionalTime()
        self.freeWindowStart = try r.optionalTime()
        self.lastIn = try r.optionalTime()
        self.lastOut = try r.optionalTime()
        self.waitingSince = try r.optionalTime()
        self.lastReach = try r.optionalTime()
        for group in ControlGroup.allCases {
            let code = try r.u8()
            let at = try r.optionalTime()
            guard code != 0xFF else { continue }
            guard let action = ControlAction(rawValue: code), let at else {
                throw .corruptRecord(database: "conversations", detail: "bad purged control \(code)")
            }
            self.controls[group] = (action, at)
        }
    }

    /// The purged controls as recorded controls, in (group, time) order.
    var recordedControls: [RecordedControl] {
        ControlGroup.allCases.compactMap { group in self.controls[group].map { RecordedControl(group: group, at: $0.at, action: $0.action) } }
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
            + "free window from \(time(self.freeWindowStart)); \(flags.isEmpty ? "no controls in effect" : flags.joined(separator: ", "))"
            + (self.purged.map { p in "; purged: \(p.messagesIn) in, \(p.messagesOut) out, last in \(time(p.lastIn)), last out \(time(p.lastOut)), waiting since \(time(p.waitingSince)), last reach \(time(p.lastReach))" } ?? "") + ")"
    }
}
