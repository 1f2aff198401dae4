import LMDB

/// The ceiling: the LMDB puts, deletes and commits ConvoStore does for each event (as laid out in
/// Sources/ConvoStore/KeyLayout.swift and Recorder.swift), with the same key and value sizes, and no
/// domain logic. The only state it keeps is what it needs to delete its own index entries.
///
/// Per event: an inbound reads the conversation's number and reads and writes its 61-byte record
/// (kept in `messages` before its messages), puts the message (21-byte
/// key) and its message-id entry, and moves the two due and the two expiry entries; an outbound puts
/// the conversation, message, message id and billing entry and deletes the due entries; a status
/// reads the message through its id and rewrites it; a control puts the control and the conversation.
final class RawLMDBEngine: Engine, @unchecked Sendable {
    // @unchecked: `environment` is thread-safe for reads; the per-conversation arrays are touched
    // only by the writing task.
    private let environment: Environment
    private let conversations: Database
    private let messages: Database
    private let messageIDs: Database
    private let controls: Database
    private let dueByTime: Database
    private let dueByBusiness: Database
    private let expiryByTime: Database
    private let expiryByBusiness: Database
    private let billing: Database
    private let meta: Database
    private let workload: Workload
    /// Per workload conversation: its due and expiry times (0: none).
    private var dueAt: [Int64]
    private var expiresAt: [Int64]
    private var nextNumber: UInt32 = 1
    private var nextSeq: UInt64 = 1
    private static let day: Int64 = 86_400_000

    init(directory: String, workload: Workload) throws {
        var options = EnvironmentOptions()
        // Large enough never to grow: a grown map runs the write again, and this engine's arrays must
        // change once per commit.
        options.mapSize = 1 << 36
        options.maxDatabases = 16
        options.durability = .unsafeNoSync
        self.environment = try Environment.open(path: directory, options: options)
        self.conversations = try self.environment.openDatabase("conversations")
        self.messages = try self.environment.openDatabase("messages")
        self.messageIDs = try self.environment.openDatabase("messageIDs")
        self.controls = try self.environment.openDatabase("controls")
        self.dueByTime = try self.environment.openDatabase("dueByTime")
        self.dueByBusiness = try self.environment.openDatabase("dueByBusiness")
        self.expiryByTime = try self.environment.openDatabase("expiryByTime")
        self.expiryByBusiness = try self.environment.openDatabase("expiryByBusiness")
        self.billing = try self.environment.openDatabase("billing")
        self.meta = try self.environment.openDatabase("meta")
        self.workload = workload
        self.dueAt = [Int64](repeating: 0, count: workload.conversations.count)
        self.expiresAt = [Int64](repeating: 0, count: workload.conversations.count)
    }

    func beginLivePhase(durable: Bool) throws {
        try self.environment.setDurability(durable ? .durable : .unsafeNoSync)
    }

    func apply(_ batch: ArraySlice<WorkloadEvent>) async throws {
        try self.environment.write { txn in
            for event in batch { try self.apply(event, txn) }
            var counters = BigEndian.bytes(self.nextNumber)
            BigEndian.append(self.nextSeq, to: &counters)
            try txn.put(self.meta, key: Array("counters".utf8), value: counters)
        }
    }

    private func apply(_ event: WorkloadEvent, _ txn: WriteTransaction) throws {
        let index = Int(event.conversation)
        let conversation = self.workload.conversations[index]
        let business = Array(Workload.businessID(conversation.business).utf8)
        let customer = Array(Workload.customerID(conversation.customer).utf8)
        let conversationKey = Ordered.key(business, customer)
        switch event.kind {
        case .inbound, .reply, .template:
            var record = try self.record(conversationKey, txn)
            let id = Array(Workload.messageID(event.message).utf8)
            let idKey = Ordered.key(business) + id
            _ = try txn.get(self.messageIDs, key: idKey)  // the duplicate check
            let inbound = event.kind == .inbound
            let seq = self.takeSeq()
            var messageKey = BigEndian.bytes(record.number)
            messageKey.append(inbound ? 0 : 1)
            BigEndian.append(UInt64(event.at), to: &messageKey)
            BigEndian.append(seq, to: &messageKey)
            try txn.put(self.messages, key: messageKey, value: self.messageValue(event, id: id))
            try txn.put(self.messageIDs, key: idKey, value: messageKey)
            if inbound {
                record.set(lastIn: event.at)
                try self.moveIndexEntry(&self.dueAt[index], to: event.at + Self.day, value: BigEndian.bytes(UInt64(event.at)),
                                        byTime: self.dueByTime, byBusiness: self.dueByBusiness, business, customer, conversationKey, txn)
                try self.moveIndexEntry(&self.expiresAt[index], to: event.at + Self.day, value: [],
                                        byTime: self.expiryByTime, byBusiness: self.expiryByBusiness, business, customer, conversationKey, txn)
            } else {
                record.set(lastOut: event.at)
                var billingKey = Ordered.key(business)
                BigEndian.append(UInt64(event.at), to: &billingKey)
                BigEndian.append(seq, to: &billingKey)
                try txn.put(self.billing, key: billingKey, value: [UInt8](repeating: 0, count: 13))
                try self.moveIndexEntry(&self.dueAt[index], to: nil, value: [],
                                        byTime: self.dueByTime, byBusiness: self.dueByBusiness, business, customer, conversationKey, txn)
            }
            try self.save(record, conversationKey, txn)
        case .status:
            let idKey = Ordered.key(business) + Array(Workload.messageID(event.message).utf8)
            guard let messageKey = try txn.value(self.messageIDs, key: idKey), var stored = try txn.value(self.messages, key: messageKey) else {
                throw EngineFailure(description: "raw_lmdb: status for an unknown message")
            }
            // A first status adds its time (8 bytes) to the record, as in ConvoStore.
            if stored[3] == 0 { stored += [UInt8](repeating: 0, count: 8) }
            stored[3] = event.detail
            try txn.put(self.messages, key: messageKey, value: stored)
        case .control:
            let record = try self.record(conversationKey, txn)
            var controlKey = BigEndian.bytes(record.number)
            controlKey.append(event.detail)
            BigEndian.append(UInt64(event.at), to: &controlKey)
            BigEndian.append(self.takeSeq(), to: &controlKey)
            try txn.put(self.controls, key: controlKey, value: [event.detail])
            try self.save(record, conversationKey, txn)
        }
    }

    private func takeSeq() -> UInt64 {
        defer { self.nextSeq += 1 }
        return self.nextSeq
    }

    /// The conversation's 61-byte record, read from the store (or new): its number from
    /// `conversations`, then the record, which sits in `messages` before its messages.
    private func record(_ key: [UInt8], _ txn: WriteTransaction) throws -> RawConversationRecord {
        if let number = try txn.value(self.conversations, key: key), let stored = try txn.value(self.messages, key: number) {
            return RawConversationRecord(bytes: stored, isNew: false)
        }
        defer { self.nextNumber += 1 }
        return RawConversationRecord(number: self.nextNumber)
    }

    /// Puts the record, and the conversation's number when it is new.
    private func save(_ record: RawConversationRecord, _ key: [UInt8], _ txn: WriteTransaction) throws {
        if record.isNew { try txn.put(self.conversations, key: key, value: BigEndian.bytes(record.number)) }
        try txn.put(self.messages, key: BigEndian.bytes(record.number), value: record.bytes)
    }

    /// A message value of ConvoStore's size: 4 header bytes, id, kind, entry point, body.
    private func messageValue(_ event: WorkloadEvent, id: [UInt8]) -> [UInt8] {
        let kind: [UInt8] = event.kind == .template ? Array("template".utf8) : Array("text".utf8)
        var value: [UInt8] = [event.kind == .inbound ? 0 : 1, event.detail, 0, 0, UInt8(id.count)] + id + [UInt8(kind.count)] + kind
        if event.kind == .inbound && event.detail == 1 { value += [2] + Array("ad".utf8) + [7] + Array("ad-2026".utf8) }
        value += BigEndian.bytes(UInt32(event.bodyLength))
        value += self.workload.body(event)
        return value
    }

    /// Deletes an index's two entries at the old time (if any) and puts them at the new one (if any).
    private func moveIndexEntry(
        _ current: inout Int64, to new: Int64?, value: [UInt8], byTime: Database, byBusiness: Database,
        _ business: [UInt8], _ customer: [UInt8], _ conversationKey: [UInt8], _ txn: WriteTransaction
    ) throws {
        if current != 0 {
            try txn.delete(byTime, key: BigEndian.bytes(UInt64(current)) + conversationKey)
            try txn.delete(byBusiness, key: Ordered.key(business) + BigEndian.bytes(UInt64(current)) + Ordered.key(customer))
        }
        current = new ?? 0
        if let new {
            try txn.put(byTime, key: BigEndian.bytes(UInt64(new)) + conversationKey, value: value)
            try txn.put(byBusiness, key: Ordered.key(business) + BigEndian.bytes(UInt64(new)) + Ordered.key(customer), value: value)
        }
    }

    // MARK: Reading

    func checkSend(conversation: UInt32, at: Int64) throws -> Bool {
        let c = self.workload.conversations[Int(conversation)]
        let key = Ordered.key(Array(Workload.businessID(c.business).utf8), Array(Workload.customerID(c.customer).utf8))
        return try self.environment.read { txn in
            guard let number = try txn.get(self.conversations, key: key), let raw = try txn.get(self.messages, key: number) else { return false }
            let lastIn = Int64(bitPattern: BigEndian.read(UInt64.self, from: raw, at: RawConversationRecord.lastInOffset))
            return lastIn > 0 && at < lastIn + Self.day
        }
    }

    func newlyOverdue(after: Int64, until: Int64, limit: Int) throws -> Int {
        try self.count(self.dueByTime, from: after + 1, to: until + 1, limit: limit)
    }

    func windowsClosing(from: Int64, to: Int64) throws -> Int {
        try self.count(self.expiryByTime, from: from, to: to)
    }

    func countOverdue(asOf: Int64) throws -> Int {
        try self.count(self.dueByTime, from: 0, to: asOf + 1)
    }

    /// A cursor walk over `[from, to)` of a time-first index, up to `limit` entries.
    private func count(_ database: Database, from: Int64, to: Int64, limit: Int = .max) throws -> Int {
        try self.environment.read { txn in
            var count = 0
            try txn.forEach(database, from: .inclusive(BigEndian.bytes(UInt64(from))), to: .exclusive(BigEndian.bytes(UInt64(to)))) { _, _ in
                count += 1
                return count < limit
            }
            return count
        }
    }

    func billingTotals() throws -> BillingTotals? { nil }

    func close() throws {}
}

/// A 61-byte conversation record of ConvoStore's layout; only the number and the two times the
/// send check reads are filled in.
private struct RawConversationRecord {
    static let lastInOffset = 12
    static let lastOutOffset = 20
    var bytes: [UInt8]
    var isNew: Bool

    init(bytes: [UInt8], isNew: Bool) {
        self.bytes = bytes
        self.isNew = isNew
    }

    init(number: UInt32) {
        self.bytes = BigEndian.bytes(number) + [UInt8](repeating: 0, count: 57)
        self.isNew = true
    }

    var number: UInt32 { BigEndian.read(UInt32.self, from: self.bytes) }

    mutating func set(lastIn at: Int64) { self.set(at, offset: Self.lastInOffset) }
    mutating func set(lastOut at: Int64) { self.set(at, offset: Self.lastOutOffset) }

    private mutating func set(_ time: Int64, offset: Int) {
        let encoded = BigEndian.bytes(UInt64(time))
        self.bytes.replaceSubrange(offset..<(offset + 8), with: encoded)
    }
}

/// ConvoStore's order-preserving encoding of ids inside composite keys: 0x00 becomes 0x00 0xFF and the
/// id ends with 0x00 0x00.
enum Ordered {
    static func key(_ parts: [UInt8]...) -> [UInt8] {
        var out: [UInt8] = []
        for part in parts {
            for byte in part {
                out.append(byte)
                if byte == 0 { out.append(0xFF) }
            }
            out += [0, 0]
        }
        return out
    }
}
