import LMDB

/// What ``ConvoStore/check(maxProblems:)`` found.
public struct CheckReport: Sendable, Hashable {
    /// Conversations checked.
    public var conversations = 0
    /// Messages checked.
    public var messages = 0
    /// Index entries checked (due, expiry, message ids, billing, controls).
    public var indexEntries = 0
    /// Each problem, in words; empty when the store is sound.
    public var problems: [String] = []
    /// Whether no problem was found.
    public var isHealthy: Bool { self.problems.isEmpty }
}

/// Store-wide counts and sizes.
public struct StoreStatistics: Sendable, Hashable {
    /// Entries per named database.
    public var entries: [String: Int]
    /// Bytes of pages per named database.
    public var bytes: [String: Int]
    /// The map size (the most the data file may grow to before the map doubles).
    public var mapSize: Int
    /// Bytes of the data file in use.
    public var usedBytes: Int
    /// The store's settings.
    public var settings: StoreSettings

    /// Conversations stored.
    public var conversations: Int { self.entries["conversations"] ?? 0 }
    /// Messages stored (the `messages` database also holds one record per conversation).
    public var messages: Int { (self.entries["messages"] ?? 0) - self.conversations }
}

extension ConvoStore {
    /// Verifies every index entry against its record and back, and every conversation's derived
    /// state and every charge against its stored history. Stops listing after `maxProblems`.
    public func check(maxProblems: Int = 100) throws -> CheckReport {
        try self.environment.read { txn in
            var checker = Checker(reader: ConversationReader(txn: txn, db: self.databases, settings: self.settings), maxProblems: maxProblems)
            try checker.run()
            return checker.report
        }
    }

    /// Counts and sizes of every part of the store.
    public func statistics() throws -> StoreStatistics {
        let info = try self.environment.info()
        return try self.environment.read { txn in
            var entries: [String: Int] = [:]
            var bytes: [String: Int] = [:]
            for database in self.databases.all {
                let stat = try txn.statistics(database)
                entries[database.name ?? "main"] = stat.entries
                bytes[database.name ?? "main"] = stat.bytes
            }
            return StoreStatistics(
                entries: entries, bytes: bytes, mapSize: info.mapSize, usedBytes: (info.lastPageNumber + 1) * info.pageSize,
                settings: self.settings)
        }
    }
}

private struct Checker {
    let reader: ConversationReader
    let maxProblems: Int
    var report = CheckReport()
    var db: Databases { self.reader.db }
    var txn: ReadTransaction { self.reader.txn }
    var settings: StoreSettings { self.reader.settings }

    init(reader: ConversationReader, maxProblems: Int) {
        self.reader = reader
        self.maxProblems = maxProblems
    }

    mutating func problem(_ text: String) {
        if self.report.problems.count < self.maxProblems { self.report.problems.append(text) }
    }

    mutating func run() throws {
        var expected: [String: Int] = ["messages": 0, "billing": 0, "controls": 0, "due": 0, "expiry": 0]
        var ids = Set<UInt32>()
        var conversations: [([UInt8], ConversationRecord)] = []
        // The walk hands over each conversation's id; its record is then read by id.
        var listed: [(key: [UInt8], id: Result<UInt32, any Error>)] = []
        try self.txn.forEach(self.db.conversations) { key, value in
            listed.append((Array(key), Result { try ConversationReader.id(value) }))
            return true
        }
        for (key, id) in listed {
            do {
                conversations.append((key, try self.reader.conversation(id: id.get())))
            } catch {
                self.problem("conversation \(self.name(key)): \(error)")
            }
        }
        for (key, record) in conversations {
            self.report.conversations += 1
            guard ids.insert(record.id).inserted else {
                self.problem("conversation id \(record.id) is used twice")
                continue
            }
            do {
                try self.checkConversation(key: key, record: record, expected: &expected)
            } catch {
                self.problem("conversation \(self.name(key)): \(error)")
            }
        }
        let actual: [(String, Database, Int)] = [
            ("messages", self.db.messages, expected["messages"]! + listed.count),  // and one record per conversation
            ("messageIDs", self.db.messageIDs, expected["messages"]!),
            ("billing", self.db.billing, expected["billing"]!),
            ("controls", self.db.controls, expected["controls"]!),
            ("dueByTime", self.db.dueByTime, expected["due"]!),
            ("dueByBusiness", self.db.dueByBusiness, expected["due"]!),
            ("expiryByTime", self.db.expiryByTime, expected["expiry"]!),
            ("expiryByBusiness", self.db.expiryByBusiness, expected["expiry"]!),
        ]
        for (name, database, count) in actual {
            let entries = try self.txn.statistics(database).entries
            self.report.indexEntries += entries
            if entries != count { self.problem("\(name) has \(entries) entries, the records call for \(count)") }
        }
        // A status waiting for its message must not have a message.
        try self.txn.forEach(self.db.pendingStatus) { key, _ in
            if try self.txn.get(self.db.messageIDs, key: key) != nil {
                self.problem("a pending status is left for a recorded message")
            }
            return true
        }
    }

    func name(_ key: [UInt8]) -> String {
        key.withUnsafeBytes { raw in
            var r = ByteReader(raw, database: "conversations")
            let b = (try? r.ordered()).map { String(utf8Bytes: $0) } ?? "?"
            let c = (try? r.ordered()).map { String(utf8Bytes: $0) } ?? "?"
            return "\(b)/\(c)"
        }
    }

    mutating func checkConversation(key: [UInt8], record: ConversationRecord, expected: inout [String: Int]) throws {
        let (business, customer) = try key.withUnsafeBytes { raw in
            var r = ByteReader(raw, database: "conversations")
            return (try r.ordered(), try r.ordered())
        }
        let label = "\(String(utf8Bytes: business))/\(String(utf8Bytes: customer))"
        let id = record.id

        // Re-derive the state from the stored history.
        var derived = ConversationRecord(id: id)
        var inbound: [Int64] = []
        var outbound: [(MessageKey, MessageRecord)] = []
        var keys: [(MessageKey, MessageRecord)] = []
        let range = Keys.messages(of: id)
        try self.txn.forEach(self.db.messages, from: range.from, to: range.to) { k, v in
            let mk = try MessageKey(decoding: k)
            let mr = try MessageRecord(decoding: v)
            keys.append((mk, mr))
            return true
        }
        for (mk, mr) in keys {
            self.report.messages += 1
            if mk.direction == .inbound {
                inbound.append(mk.at)
                if mr.entryPoint != nil { derived.freeEntryAt = min(derived.freeEntryAt ?? mk.at, mk.at) }
            } else {
                outbound.append((mk, mr))
            }
            let idKey = Keys.messageID(business: business, id: mr.id)
            if try self.txn.value(self.db.messageIDs, key: idKey) != mk.encoded {
                self.problem("\(label): message \(String(utf8Bytes: mr.id)) is missing from messageIDs or points elsewhere")
            }
        }
        derived.messagesIn = UInt32(inbound.count)
        derived.messagesOut = UInt32(outbound.count)
        derived.firstIn = inbound.min()
        derived.lastIn = inbound.max()
        derived.lastOut = outbound.map(\.0.at).max()
        derived.waitingSince = inbound.filter { t in derived.lastOut.map { t > $0 } ?? true }.min()
        if let entry = derived.freeEntryAt {
            derived.freeWindowStart = outbound.map(\.0.at).filter { $0 >= entry && $0 < entry + self.settings.freeEntryReplyMillis }.min()
        }
        let controls = try self.reader.controls(of: id)
        if !controls.isEmpty { derived.flags = ConversationReader.flags(of: controls, at: nil).union(.hasControls) }
        if derived != record { self.problem("\(label): stored state \(record) differs from its history \(derived)") }

        // Every outbound's class and charge.
        for (mk, mr) in outbound {
            let context = try self.reader.sendContext(derived, at: mk.at, controls: controls.isEmpty ? nil : controls, freeWindowStart: derived.freeWindowStart)
            let outcome = SendRules.classify(isTemplate: mr.isTemplate, category: mr.category, context: context)
            if mr.outcome != outcome {
                self.problem("\(label): message \(String(utf8Bytes: mr.id)) is classed \(String(describing: mr.outcome)), the rules say \(outcome)")
            }
            let billingKey = Keys.billing(business: business, at: mk.at, seq: mk.seq)
            let want = BillingEntry(outcome: outcome, amount: self.reader.amount(for: outcome), conversation: id)
            let got = try self.txn.get(self.db.billing, key: billingKey).map { try BillingEntry(decoding: $0) }
            if got != want { self.problem("\(label): billing entry of \(String(utf8Bytes: mr.id)) is \(String(describing: got)), expected \(want)") }
        }
        expected["messages"]! += keys.count
        expected["billing"]! += outbound.count
        expected["controls"]! += controls.count

        // Index entries this conversation calls for.
        if let since = derived.waitingSince, !derived.flags.blocked {
            expected["due"]! += 1
            let due = since + (try self.reader.replySLA(business: business))
            let value = Keys.time(since)
            if try self.txn.value(self.db.dueByTime, key: Keys.byTime(due, conversationKey: key)) != value
                || (try self.txn.value(self.db.dueByBusiness, key: Keys.byBusiness(due, business: business, customer: customer))) != value {
                self.problem("\(label): due index entry for \(due) is missing or wrong")
            }
        }
        if let expires = derived.windowExpiresAt(self.settings) {
            expected["expiry"]! += 1
            if try !self.txn.contains(self.db.expiryByTime, key: Keys.byTime(expires, conversationKey: key))
                || !(try self.txn.contains(self.db.expiryByBusiness, key: Keys.byBusiness(expires, business: business, customer: customer))) {
                self.problem("\(label): window expiry index entry for \(expires) is missing")
            }
        }
    }
}
