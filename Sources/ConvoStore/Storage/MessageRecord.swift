import LMDB

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

