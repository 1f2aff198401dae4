@_spi(Benchmarks) import ConvoStore
import Foundation
import LMDB

/// The tables of the raw engines, as ConvoStore's named databases (Sources/ConvoStore/Storage/KeyLayout.swift).
enum RawTable: UInt8, CaseIterable {
    case meta, conversations, customers, conversationKeys, messages, messageIDs, controls
    case dueByTime, dueByBusiness, expiryByTime, expiryByBusiness
    case charges, reaches, reachEdges, reachDays, oldest

    /// Tables with several values per key (LMDB `MDB_DUPSORT`, as in the store).
    var hasDuplicates: Bool { self == .charges || self == .reachEdges }
    var name: String { "\(self)" }
}

/// What the raw engines' per-event work needs from a write transaction.
protocol RawWriteTransaction {
    func get(_ table: RawTable, _ key: [UInt8]) throws -> [UInt8]?
    func put(_ table: RawTable, _ key: [UInt8], _ value: [UInt8]) throws
    func delete(_ table: RawTable, _ key: [UInt8]) throws
    /// One value among a key's several (``RawTable/hasDuplicates``).
    func putDuplicate(_ table: RawTable, _ key: [UInt8], _ value: [UInt8]) throws
    func deleteDuplicate(_ table: RawTable, _ key: [UInt8], _ value: [UInt8]) throws
}

/// The puts, deletes and reads ConvoStore does for each event, with the same key and value sizes
/// and without its domain logic: the ceiling of its design (`raw_lmdb`), and the same work on another
/// engine (`rocksdb`). The only state it keeps is what it needs to delete its own index entries.
///
/// Per event: an inbound reads the conversation's number and its 61-byte record (kept in `messages`
/// before its messages), checks the message id, puts the message and its id, and moves the two due
/// and the two expiry entries; an outbound puts the message, its id and its charge entry (under its
/// business, market, class and UTC day, as `charges`), deletes the due entries, and a template sent
/// while the window is closed records a reach (R8: `reaches`, two `reachEdges`, a `reachDays` count);
/// a status reads the message through its id and rewrites it, and a `failed` one moves the charge and
/// rewrites the record; a control puts the control and the record. A new conversation also puts its
/// keys in `conversations`, `customers`, `conversationKeys` and `oldest`.
///
/// The due index holds what the store's holds (R2 with R5's blocks and R6's failures), so that the
/// raw engines' overdue walk counts the same conversations as ConvoStore's and is checked against it:
/// the few facts that decide it (waiting since, last answer, blocks, failed messages) are kept in
/// memory, as the domain state the raw engines otherwise do without. Charges are not classified by
/// the rules (a template under its category, a reply under `service` or free by its date): the raw
/// engines keep no billing answer.
final class RawWorkloadWriter {
    let workload: Workload
    /// Per workload conversation: the times its due and expiry entries are at (0: none).
    private var dueAt: [Int64]
    private var expiresAt: [Int64]
    /// Per workload conversation, R2's facts: the earliest inbound not answered and the latest answer
    /// (0: none), and R5's blocks in effect (``customerBlock``, ``businessBlock``).
    private var waitingSince: [Int64]
    private var lastOut: [Int64]
    private var blocks: [UInt8]
    /// R6: the message numbers that failed, a bit each.
    private var failed: [UInt64]
    /// Per message number, the seq its `messageIDs` key ends with (0: not recorded): a status reads
    /// the key the store's lookup lands on, by the hash and this seq, as one point read.
    private var messageSeq: [UInt64]
    /// Per workload conversation, its events' indexes in time order (``Workload/events``): where a late
    /// failure finds the answer before it and what waits after it.
    private let history: ConversationHistory
    private static let customerBlock: UInt8 = 1
    private static let businessBlock: UInt8 = 2
    private var nextNumber: UInt32 = 1
    private var nextSeq: UInt64 = 1
    static let day: Int64 = 86_400_000
    private static let serviceChargesFrom: Int64 = 1_790_812_800_000
    private static let countersKey = Array("counters".utf8)
    /// The file, inside the store's directory, that keeps ``dueAt`` and ``expiresAt`` between the
    /// import and the live phase (not counted in the store's size).
    static let stateFile = "harness-state.bin"

    init(workload: Workload) {
        let count = workload.conversations.count
        self.workload = workload
        self.dueAt = [Int64](repeating: 0, count: count)
        self.expiresAt = [Int64](repeating: 0, count: count)
        self.waitingSince = [Int64](repeating: 0, count: count)
        self.lastOut = [Int64](repeating: 0, count: count)
        self.blocks = [UInt8](repeating: 0, count: count)
        self.failed = [UInt64](repeating: 0, count: (workload.events.count + 63) / 64)
        self.messageSeq = [UInt64](repeating: 0, count: workload.events.count)
        self.history = ConversationHistory(workload)
    }

    /// The state an import left in `directory`, with the counters read from the store.
    convenience init(workload: Workload, loadingFrom directory: String, counters: [UInt8]?) throws {
        self.init(workload: workload)
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + Self.stateFile))
        guard data.count == self.stateSize else { throw EngineFailure(description: "\(directory)/\(Self.stateFile) does not match the workload") }
        data.withUnsafeBytes { raw in
            var offset = 0
            func read<E>(_ array: inout [E]) {
                let bytes = array.count * MemoryLayout<E>.stride
                array.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset..<(offset + bytes)])) }
                offset += bytes
            }
            read(&self.dueAt)
            read(&self.expiresAt)
            read(&self.waitingSince)
            read(&self.lastOut)
            read(&self.failed)
            read(&self.messageSeq)
            read(&self.blocks)
        }
        if let counters, counters.count == 12 {
            self.nextNumber = BigEndian.read(UInt32.self, from: counters)
            self.nextSeq = BigEndian.read(UInt64.self, from: counters, at: 4)
        }
    }

    private var stateSize: Int { 8 * (4 * self.dueAt.count + self.failed.count + self.messageSeq.count) + self.blocks.count }

    func saveState(to directory: String) throws {
        var data = Data()
        data.reserveCapacity(self.stateSize)
        self.dueAt.withUnsafeBytes { data.append(contentsOf: $0) }
        self.expiresAt.withUnsafeBytes { data.append(contentsOf: $0) }
        self.waitingSince.withUnsafeBytes { data.append(contentsOf: $0) }
        self.lastOut.withUnsafeBytes { data.append(contentsOf: $0) }
        self.failed.withUnsafeBytes { data.append(contentsOf: $0) }
        self.messageSeq.withUnsafeBytes { data.append(contentsOf: $0) }
        self.blocks.withUnsafeBytes { data.append(contentsOf: $0) }
        try data.write(to: URL(fileURLWithPath: directory + "/" + Self.stateFile))
    }

    /// Records a batch: each event, then the counters, as ConvoStore's recorder ends a commit.
    func apply<T: RawWriteTransaction>(_ batch: ArraySlice<WorkloadEvent>, _ txn: T) throws {
        for position in batch.indices { try self.apply(batch[position], position: position, txn) }
        var counters = BigEndian.bytes(self.nextNumber)
        BigEndian.append(self.nextSeq, to: &counters)
        try txn.put(.meta, Self.countersKey, counters)
    }

    /// `position`: the event's index in ``Workload/events``.
    private func apply<T: RawWriteTransaction>(_ event: WorkloadEvent, position: Int, _ txn: T) throws {
        let index = Int(event.conversation)
        let conversation = self.workload.conversations[index]
        let business = Array(Workload.businessID(conversation.business).utf8)
        let customerID = Workload.customerID(conversation.customer)
        let customer = Array(customerID.utf8)
        let conversationKey = Ordered.key(business, customer)
        switch event.kind {
        case .inbound, .reply, .template:
            var record = try self.record(conversationKey, txn)
            let id = Array(Workload.messageID(event.message).utf8)
            let idHash = MessageIDHash.of(business: business, id: id)
            _ = try txn.get(.messageIDs, idHash)  // the duplicate check: the store's seek to the hash
            let inbound = event.kind == .inbound
            let seq = self.takeSeq()
            self.messageSeq[Int(event.message)] = seq
            var messageKey = BigEndian.bytes(record.number)
            messageKey.append(inbound ? 0 : 1)
            BigEndian.append(UInt64(event.at), to: &messageKey)
            BigEndian.append(seq, to: &messageKey)
            try txn.put(.messages, messageKey, self.messageValue(event, id: id))
            try txn.put(.messageIDs, idHash + BigEndian.bytes(seq), messageKey)
            if inbound {
                record.set(lastIn: event.at)
                // R2: waits unless answered at or after its time (events come in time order).
                if self.waitingSince[index] == 0, self.lastOut[index] == 0 || event.at > self.lastOut[index] { self.waitingSince[index] = event.at }
                try self.updateDue(index, business, customer, conversationKey, txn)
                try self.moveIndexEntry(&self.expiresAt[index], to: event.at + Self.day, value: [],
                                        byTime: .expiryByTime, byBusiness: .expiryByBusiness, business, customer, conversationKey, txn)
            } else {
                record.set(lastOut: event.at)
                let billingClass: UInt8 = event.kind == .template ? event.detail : (event.at >= Self.serviceChargesFrom ? 3 : 0x08)
                try txn.putDuplicate(.charges, Self.chargeKey(business, customerID, billingClass, at: event.at), Self.chargeValue(at: event.at, id: id))
                if event.kind == .template, self.expiresAt[index] <= event.at {
                    try self.addReach(number: record.number, business: business, at: event.at, txn)
                }
                // R2: an answer (it has not failed yet: its statuses come after it) answers everything before it.
                if self.lastOut[index] == 0 || event.at > self.lastOut[index] {
                    self.lastOut[index] = event.at
                    self.waitingSince[index] = 0
                }
                try self.updateDue(index, business, customer, conversationKey, txn)
            }
            try self.save(record, conversationKey, business: business, customer: customer, at: event.at, txn)
        case .status:
            let idKey = MessageIDHash.of(business: business, id: Array(Workload.messageID(event.message).utf8))
                + BigEndian.bytes(self.messageSeq[Int(event.message)])
            guard let messageKey = try txn.get(.messageIDs, idKey), var stored = try txn.get(.messages, messageKey) else {
                throw EngineFailure(description: "raw: status for an unknown message")
            }
            let wasFailed = stored[2] == 4
            // A first status adds its time (8 bytes) to the record, as in ConvoStore.
            if stored[2] == 0 { stored += [UInt8](repeating: 0, count: 8) }
            stored[2] = max(stored[2], event.detail)
            try txn.put(.messages, messageKey, stored)
            if event.detail == 4, !wasFailed {
                // R6: the charge moves to `failed`, and the conversation's record is written again.
                let at = Int64(bitPattern: BigEndian.read(UInt64.self, from: messageKey, at: 5))
                let isTemplate = stored[5 + Int(stored[4])] == 8  // the kind's length: "template"
                let billingClass: UInt8 = isTemplate ? stored[1] : (at >= Self.serviceChargesFrom ? 3 : 0x08)
                let id = Array(stored[5..<(5 + Int(stored[4]))])
                let value = Self.chargeValue(at: at, id: id)
                try txn.deleteDuplicate(.charges, Self.chargeKey(business, customerID, billingClass, at: at), value)
                try txn.putDuplicate(.charges, Self.chargeKey(business, customerID, 0x20, at: at), value)
                let number = Array(messageKey[0..<4])
                if let record = try txn.get(.messages, number) { try txn.put(.messages, number, record) }
                // R6: a failed message answers nothing; if it was the latest answer, what it answered waits again.
                self.failed[Int(event.message) / 64] |= 1 << UInt64(event.message % 64)
                if stored[0] == 1, at == self.lastOut[index] {
                    self.rederiveWaiting(index, before: position)
                    try self.updateDue(index, business, customer, conversationKey, txn)
                }
            }
        case .control:
            let record = try self.record(conversationKey, txn)
            var controlKey = BigEndian.bytes(record.number)
            controlKey.append(event.detail)
            BigEndian.append(UInt64(event.at), to: &controlKey)
            BigEndian.append(self.takeSeq(), to: &controlKey)
            try txn.put(.controls, controlKey, [event.detail])
            try self.save(record, conversationKey, business: business, customer: customer, at: event.at, txn)
            // R5: a blocked conversation is not overdue; the latest control of each block group wins.
            switch ControlChoice(rawValue: event.detail)! {
            case .customerBlock, .customerReportSpam: self.blocks[index] |= Self.customerBlock
            case .customerUnblock: self.blocks[index] &= ~Self.customerBlock
            case .businessBlock: self.blocks[index] |= Self.businessBlock
            case .businessUnblock: self.blocks[index] &= ~Self.businessBlock
            default: break
            }
            try self.updateDue(index, business, customer, conversationKey, txn)
        }
    }

    /// Moves the conversation's due entries to `waitingSince + 24 h` (R2's reply SLA), or removes
    /// them when nothing waits or the conversation is blocked; nothing is written when they stay.
    private func updateDue<T: RawWriteTransaction>(
        _ index: Int, _ business: [UInt8], _ customer: [UInt8], _ conversationKey: [UInt8], _ txn: T
    ) throws {
        let since = self.waitingSince[index]
        let due: Int64? = since != 0 && self.blocks[index] == 0 ? since + Self.day : nil
        guard due ?? 0 != self.dueAt[index] else { return }
        try self.moveIndexEntry(&self.dueAt[index], to: due, value: BigEndian.bytes(UInt64(since)),
                                byTime: .dueByTime, byBusiness: .dueByBusiness, business, customer, conversationKey, txn)
    }

    /// R2 after a late failure of the latest answer: the latest outbound before event `position` that
    /// did not fail answers, and the earliest inbound after it waits.
    private func rederiveWaiting(_ index: Int, before position: Int) {
        let events = self.workload.events
        var lastOut: Int64 = 0
        var firstPending: Int64 = 0
        for i in self.history.events(of: index) where i < position {
            let e = events[Int(i)]
            if e.kind == .reply || e.kind == .template, !self.hasFailed(e.message) {
                lastOut = e.at
                firstPending = 0
            } else if e.kind == .inbound, firstPending == 0, e.at > lastOut {
                firstPending = e.at
            }
        }
        self.lastOut[index] = lastOut
        self.waitingSince[index] = firstPending
    }

    private func hasFailed(_ message: UInt32) -> Bool { self.failed[Int(message) / 64] & (1 << UInt64(message % 64)) != 0 }

    private func takeSeq() -> UInt64 {
        defer { self.nextSeq += 1 }
        return self.nextSeq
    }

    /// The conversation's 61-byte record, read from the store (or new): its number from
    /// `conversations`, then the record, which sits in `messages` before its messages.
    private func record<T: RawWriteTransaction>(_ key: [UInt8], _ txn: T) throws -> RawConversationRecord {
        if let number = try txn.get(.conversations, key), let stored = try txn.get(.messages, number) {
            return RawConversationRecord(bytes: stored, isNew: false)
        }
        defer { self.nextNumber += 1 }
        return RawConversationRecord(number: self.nextNumber)
    }

    /// Puts the record, and the conversation's keys when it is new.
    private func save<T: RawWriteTransaction>(
        _ record: RawConversationRecord, _ key: [UInt8], business: [UInt8], customer: [UInt8], at: Int64, _ txn: T
    ) throws {
        let number = BigEndian.bytes(record.number)
        if record.isNew {
            try txn.put(.conversations, key, number)
            try txn.put(.customers, Ordered.key(customer, business), number)
            try txn.put(.conversationKeys, number, key)
            try txn.put(.oldest, BigEndian.bytes(UInt64(at)) + number, [])
        }
        try txn.put(.messages, number, record.bytes)
    }

    /// R8's upkeep of a new reach: its count at its time, the two edges of its 24-hour interval, and
    /// the count of the midnight it spans.
    private func addReach<T: RawWriteTransaction>(number: UInt32, business: [UInt8], at t: Int64, _ txn: T) throws {
        let reachKey = BigEndian.bytes(number) + BigEndian.bytes(UInt64(t))
        let count = try txn.get(.reaches, reachKey).map { BigEndian.read(UInt32.self, from: $0) } ?? 0
        try txn.put(.reaches, reachKey, BigEndian.bytes(count + 1))
        let end = t + Self.day
        try txn.putDuplicate(.reachEdges, Ordered.key(business) + [0] + BigEndian.bytes(UInt32(t / 60_000)), BigEndian.bytes(UInt64(t)) + BigEndian.bytes(number))
        try txn.putDuplicate(.reachEdges, Ordered.key(business) + [1] + BigEndian.bytes(UInt32(end / 60_000)),
                             BigEndian.bytes(UInt64(end)) + BigEndian.bytes(number) + BigEndian.bytes(UInt64(t)))
        let dayKey = Ordered.key(business) + BigEndian.bytes(UInt32(t / Self.day + 1))
        let reached = try txn.get(.reachDays, dayKey).map { BigEndian.read(UInt32.self, from: $0) } ?? 0
        try txn.put(.reachDays, dayKey, BigEndian.bytes(reached + 1))
    }

    /// A key of `charges`: `ord(business), market (short), class u8, day u32, platform u8`.
    private static func chargeKey(_ business: [UInt8], _ customer: String, _ billingClass: UInt8, at: Int64) -> [UInt8] {
        let market = Array(Markets.market(ofCustomer: customer).name.utf8)
        var key = Ordered.key(business)
        key.append(UInt8(market.count))
        key += market
        key.append(billingClass)
        key += BigEndian.bytes(UInt32(at / Self.day))
        key.append(0)
        return key
    }

    /// A value of `charges`: `at u64, 1, message id`.
    private static func chargeValue(at: Int64, id: [UInt8]) -> [UInt8] {
        BigEndian.bytes(UInt64(at)) + [1] + id
    }

    /// A message value of ConvoStore's size: a header (direction, detail, status, flags, id length),
    /// id, kind, entry point, body, and the record checksum.
    private func messageValue(_ event: WorkloadEvent, id: [UInt8]) -> [UInt8] {
        let kind: [UInt8] = event.kind == .template ? Array("template".utf8) : Array("text".utf8)
        var value: [UInt8] = [event.kind == .inbound ? 0 : 1, event.detail, 0, 0, UInt8(id.count)] + id + [UInt8(kind.count)] + kind
        if event.kind == .inbound && event.detail == 1 { value += [2] + Array("ad".utf8) + [7] + Array("ad-2026".utf8) }
        value += BigEndian.bytes(UInt32(event.bodyLength))
        value += self.workload.body(event)
        value += [0, 0, 0, 0]
        return value
    }

    /// Deletes an index's two entries at the old time (if any) and puts them at the new one (if any).
    private func moveIndexEntry<T: RawWriteTransaction>(
        _ current: inout Int64, to new: Int64?, value: [UInt8], byTime: RawTable, byBusiness: RawTable,
        _ business: [UInt8], _ customer: [UInt8], _ conversationKey: [UInt8], _ txn: T
    ) throws {
        if current != 0 {
            try txn.delete(byTime, BigEndian.bytes(UInt64(current)) + conversationKey)
            try txn.delete(byBusiness, Ordered.key(business) + BigEndian.bytes(UInt64(current)) + Ordered.key(customer))
        }
        current = new ?? 0
        if let new {
            try txn.put(byTime, BigEndian.bytes(UInt64(new)) + conversationKey, value)
            try txn.put(byBusiness, Ordered.key(business) + BigEndian.bytes(UInt64(new)) + Ordered.key(customer), value)
        }
    }

    /// Whether a free-form reply in `conversation` may be sent at `at`, from its record's `lastIn`.
    static func windowOpen(record: UnsafeRawBufferPointer, at: Int64) -> Bool {
        let lastIn = Int64(bitPattern: BigEndian.read(UInt64.self, from: record, at: RawConversationRecord.lastInOffset))
        return lastIn > 0 && at < lastIn + Self.day
    }

    /// The key of a conversation in `conversations`.
    func conversationKey(_ conversation: UInt32) -> [UInt8] {
        let c = self.workload.conversations[Int(conversation)]
        return Ordered.key(Array(Workload.businessID(c.business).utf8), Array(Workload.customerID(c.customer).utf8))
    }
}

/// A 61-byte conversation record of ConvoStore's layout; only the number and the two times the
/// send check reads are filled in.
struct RawConversationRecord {
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


/// Each conversation's events, as indexes into ``Workload/events`` in time order (compressed rows:
/// one array of offsets, one of indexes; 4 bytes an event).
struct ConversationHistory {
    private let offsets: [Int32]
    private let indexes: [UInt32]

    init(_ workload: Workload) {
        var offsets = [Int32](repeating: 0, count: workload.conversations.count + 1)
        for event in workload.events { offsets[Int(event.conversation) + 1] += 1 }
        for i in 1..<offsets.count { offsets[i] += offsets[i - 1] }
        var next = offsets
        var indexes = [UInt32](repeating: 0, count: workload.events.count)
        for (i, event) in workload.events.enumerated() {
            indexes[Int(next[Int(event.conversation)])] = UInt32(i)
            next[Int(event.conversation)] += 1
        }
        self.offsets = offsets
        self.indexes = indexes
    }

    func events(of conversation: Int) -> ArraySlice<UInt32> {
        self.indexes[Int(self.offsets[conversation])..<Int(self.offsets[conversation + 1])]
    }
}
