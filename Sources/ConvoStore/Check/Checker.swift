import LMDB

/// Re-derives every conversation's state, every charge and every index entry from the stored
/// history, through the same reader the queries use, and lists what disagrees.
struct Checker {
    let reader: ConversationReader
    let maxProblems: Int
    var report = CheckReport()
    var db: Databases { self.reader.db }
    var txn: ReadTransaction { self.reader.txn }
    var settings: StoreSettings { self.reader.settings }

    /// Entries each database should hold, summed over the conversations.
    private var expected = (messages: 0, billing: 0, controls: 0, due: 0, expiry: 0)

    init(reader: ConversationReader, maxProblems: Int) {
        self.reader = reader
        self.maxProblems = maxProblems
    }

    mutating func problem(_ text: String) {
        if self.report.problems.count < self.maxProblems { self.report.problems.append(text) }
    }

    mutating func run() throws {
        var ids = Set<UInt32>()
        // The walk hands over each conversation's id; its record is then read by id.
        var listed: [(key: ConversationKey?, id: Result<UInt32, any Error>, raw: [UInt8])] = []
        try self.txn.forEach(self.db.conversations) { key, value in
            listed.append((try? ConversationKey(decoding: key), Result { try ConversationReader.id(value) }, Array(key)))
            return true
        }
        for (key, id, raw) in listed {
            guard let key else {
                self.problem("a conversations key of \(raw.count) bytes cannot be read")
                continue
            }
            self.report.conversations += 1
            do {
                let record = try self.reader.conversation(id: id.get())
                guard ids.insert(record.id).inserted else {
                    self.problem("conversation id \(record.id) is used twice")
                    continue
                }
                try self.checkConversation(key: key, record: record)
            } catch {
                self.problem("conversation \(key.label): \(error)")
            }
        }
        let counts: [(String, Database, Int)] = [
            ("messages", self.db.messages, self.expected.messages + listed.count),  // and one record per conversation
            ("messageIDs", self.db.messageIDs, self.expected.messages),
            ("billing", self.db.billing, self.expected.billing),
            ("controls", self.db.controls, self.expected.controls),
            ("dueByTime", self.db.dueByTime, self.expected.due),
            ("dueByBusiness", self.db.dueByBusiness, self.expected.due),
            ("expiryByTime", self.db.expiryByTime, self.expected.expiry),
            ("expiryByBusiness", self.db.expiryByBusiness, self.expected.expiry),
        ]
        for (name, database, count) in counts {
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

    private mutating func checkConversation(key: ConversationKey, record: ConversationRecord) throws {
        let label = key.label
        let messages = try self.reader.messages(of: record.id)
        let controls = try self.reader.controls(of: record.id)
        let derived = Self.derive(id: record.id, messages: messages, controls: controls, settings: self.settings)
        if derived != record { self.problem("\(label): stored state \(record) differs from its history \(derived)") }
        self.report.messages += messages.count

        for (messageKey, message) in messages {
            if try self.txn.value(self.db.messageIDs, key: Keys.messageID(business: key.business, id: message.id)) != messageKey.encoded {
                self.problem("\(label): message \(Display.quoted(String(utf8Bytes: message.id))) is missing from messageIDs or points elsewhere")
            }
            guard message.direction == .outbound else { continue }
            // Every outbound's class and charge.
            let context = try self.reader.sendContext(
                derived, at: messageKey.at, controls: controls.isEmpty ? nil : controls, freeWindowStart: derived.freeWindowStart)
            let outcome = SendRules.classify(isTemplate: message.isTemplate, category: message.category, context: context)
            if message.outcome != outcome {
                self.problem("\(label): message \(Display.quoted(String(utf8Bytes: message.id))) is classed \(Self.name(message.outcome)), the rules say \(Self.name(outcome))")
            }
            let billingKey = Keys.billing(business: key.business, at: messageKey.at, seq: messageKey.seq)
            let want = BillingEntry(outcome: outcome, amount: self.reader.amount(for: outcome), conversation: record.id)
            let got = try self.txn.get(self.db.billing, key: billingKey).map { try BillingEntry(decoding: $0) }
            if got != want {
                self.problem("\(label): the billing entry of \(Display.quoted(String(utf8Bytes: message.id))) is \(got.map { "\(Self.name($0.outcome)), \($0.amount) micros" } ?? "missing"), expected \(Self.name(outcome)), \(want.amount) micros")
            }
        }
        self.expected.messages += messages.count
        self.expected.billing += messages.count { $0.record.direction == .outbound }
        self.expected.controls += controls.count

        // Index entries this conversation calls for.
        let indexed = IndexedState(derived, replySLA: try self.reader.replySLA(business: key.business), settings: self.settings)
        if indexed.due != nil { self.expected.due += 1 }
        if indexed.windowExpiresAt != nil { self.expected.expiry += 1 }
        for problem in try IndexUpkeep.problems(key, indexed, in: self.txn, db: self.db) { self.problem("\(label): \(problem)") }
    }

    /// A conversation's state derived from its stored history alone (R1, R2, R3, R5).
    static func derive(id: UInt32, messages: [(key: MessageKey, record: MessageRecord)], controls: [RecordedControl], settings: StoreSettings) -> ConversationRecord {
        var derived = ConversationRecord(id: id)
        var inbound: [Int64] = []
        var outbound: [Int64] = []
        for (key, record) in messages {
            if key.direction == .inbound {
                inbound.append(key.at)
                if record.entryPoint != nil { derived.freeEntryAt = min(derived.freeEntryAt ?? key.at, key.at) }
            } else {
                outbound.append(key.at)
            }
        }
        derived.messagesIn = UInt32(inbound.count)
        derived.messagesOut = UInt32(outbound.count)
        derived.firstIn = inbound.min()
        derived.lastIn = inbound.max()
        derived.lastOut = outbound.max()
        derived.waitingSince = inbound.filter { t in derived.lastOut.map { t > $0 } ?? true }.min()
        if let entry = derived.freeEntryAt {
            derived.freeWindowStart = outbound.filter { $0 >= entry && $0 < entry + settings.freeEntryReplyMillis }.min()
        }
        if !controls.isEmpty { derived.flags = ConversationReader.flags(of: controls, at: nil).union(.hasControls) }
        return derived
    }

    /// An outcome in the words of outputs: `free`, `charged utility`, `violation outside_window`.
    static func name(_ outcome: SendOutcome?) -> String {
        switch outcome {
        case nil: "unclassified"
        case .free?: "free"
        case .charged(let category)?: "charged \(category.name)"
        case .violation(let violation)?: "violation \(violation.name)"
        }
    }
}
