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
    /// What the platform's own pricing said of it (its statuses' `pricing`).
    var pricing: PlatformPricing?
    /// Whether it reaches its customer (R8): an allowed template, not failed, sent while the window
    /// was closed. It then has an entry in `reaches`.
    var isReach = false
    /// Recorded because a webhook status named it, not from the message itself: its time and class
    /// are those its earliest status implies, and move if an earlier status arrives.
    var isImplied = false

    /// A failed message never reached the customer (R6).
    var isFailed: Bool { self.status == .failed }

    private struct Flags: OptionSet {
        let rawValue: UInt8
        static let outbound = Flags(rawValue: 1)
        static let hasCategory = Flags(rawValue: 2)
        static let hasBody = Flags(rawValue: 4)
        static let bodyIsBytes = Flags(rawValue: 8)
        static let hasEntryPoint = Flags(rawValue: 16)
        static let hasOutcome = Flags(rawValue: 32)
        static let hasStatus = Flags(rawValue: 64)
        static let more = Flags(rawValue: 128)
    }

    /// The second flags byte, present when `more` is set.
    private struct MoreFlags: OptionSet {
        let rawValue: UInt8
        static let hasPricing = MoreFlags(rawValue: 1)
        static let isReach = MoreFlags(rawValue: 2)
        static let pricingHasType = MoreFlags(rawValue: 4)
        static let billableKnown = MoreFlags(rawValue: 8)
        static let billable = MoreFlags(rawValue: 16)
        static let isImplied = MoreFlags(rawValue: 32)
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
        var more: MoreFlags = []
        if let pricing = self.pricing {
            more.insert(.hasPricing)
            if pricing.type != nil { more.insert(.pricingHasType) }
            if let billable = pricing.billable {
                more.insert(.billableKnown)
                if billable { more.insert(.billable) }
            }
        }
        if self.isReach { more.insert(.isReach) }
        if self.isImplied { more.insert(.isImplied) }
        if !more.isEmpty { flags.insert(.more) }
        var w = ByteWriter(capacity: 24 + self.id.count + self.kind.count + (self.body?.count ?? 0))
        w.u8(flags.rawValue)
        if !more.isEmpty { w.u8(more.rawValue) }
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
        if let pricing = self.pricing {
            w.short(Array(pricing.model.utf8))
            w.short(Array(pricing.category.utf8))
            if let type = pricing.type { w.short(Array(type.utf8)) }
        }
        if let body = self.body { w.long(body) }
        w.seal()
        return w.bytes
    }

    init(decoding buffer: UnsafeRawBufferPointer) throws(ConvoStoreError) {
        var r = try ByteReader.sealed(buffer, database: "messages")
        let flags = Flags(rawValue: try r.u8())
        let more = flags.contains(.more) ? MoreFlags(rawValue: try r.u8()) : []
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
        if more.contains(.hasPricing) {
            let model = try r.short()
            let category = try r.short()
            let type = more.contains(.pricingHasType) ? try r.short() : nil
            guard let modelText = String(validating: model, as: UTF8.self), let categoryText = String(validating: category, as: UTF8.self),
                  type.map({ String(validating: $0, as: UTF8.self) != nil }) ?? true
            else { throw .corruptRecord(database: "messages", detail: "platform pricing is not UTF-8") }
            self.pricing = PlatformPricing(
                model: modelText, category: categoryText, type: type.flatMap { String(validating: $0, as: UTF8.self) },
                billable: more.contains(.billableKnown) ? more.contains(.billable) : nil)
        } else {
            self.pricing = nil
        }
        self.isReach = more.contains(.isReach)
        self.isImplied = more.contains(.isImplied)
        self.body = flags.contains(.hasBody) ? try r.long() : nil
        self.bodyIsText = !flags.contains(.bodyIsBytes)
        try r.expectEnd()
    }

    /// Whether a stored message record is of a failed message (R6), read from its first bytes only:
    /// the walks that skip failed messages read nothing else of them.
    static func isFailed(_ buffer: UnsafeRawBufferPointer) throws(ConvoStoreError) -> Bool {
        var r = ByteReader(buffer, database: "messages")
        let flags = Flags(rawValue: try r.u8())
        if flags.contains(.more) { _ = try r.u8() }
        _ = try r.u8()  // category
        _ = try r.u8()  // outcome
        let status = try r.u8()
        return flags.contains(.hasStatus) && status == MessageStatus.failed.rawValue
    }

    /// Whether `message` is the same message as this record (idempotent re-import).
    func sameContent(as other: MessageRecord) -> Bool {
        self.id == other.id && self.direction == other.direction && self.kind == other.kind
            && self.category == other.category && (self.body ?? []) == (other.body ?? [])
            && self.entryPoint == other.entryPoint
    }
}

