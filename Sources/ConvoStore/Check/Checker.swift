import LMDB

/// Re-derives every conversation's state, every class, charge entry and reach, every index entry and
/// R8's intervals from the stored history (kept messages and controls, and the summaries of purged
/// ones), through the same reader the queries use, and lists what disagrees.
struct Checker {
    let reader: ConversationReader
    let maxProblems: Int
    var report = CheckReport()
    var db: Databases { self.reader.db }
    var txn: ReadTransaction { self.reader.txn }
    var settings: StoreSettings { self.reader.settings }

    /// Entries each database should hold, summed over the conversations.
    private var expected = (messages: 0, charges: 0, controls: 0, due: 0, expiry: 0, reaches: 0, oldest: 0)
    /// Per business, the R8 intervals the kept reaches (and the latest purged one) call for.
    private var intervals: [[UInt8]: Set<ReachInterval>] = [:]

    struct ReachInterval: Hashable {
        var conversation: UInt32
        var start: Int64
        var end: Int64
    }

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
            ("controls", self.db.controls, self.expected.controls),
            ("dueByTime", self.db.dueByTime, self.expected.due),
            ("dueByBusiness", self.db.dueByBusiness, self.expected.due),
            ("expiryByTime", self.db.expiryByTime, self.expected.expiry),
            ("expiryByBusiness", self.db.expiryByBusiness, self.expected.expiry),
            ("customers", self.db.customers, listed.count),
            ("conversationKeys", self.db.conversationKeys, listed.count),
            ("reaches", self.db.reaches, self.expected.reaches),
            ("oldest", self.db.oldest, self.expected.oldest),
        ]
        for (name, database, count) in counts {
            let entries = try self.txn.statistics(database).entries
            self.report.indexEntries += entries
            if entries != count { self.problem("\(name) has \(entries) entries, the records call for \(count)") }
        }
        try self.checkCharges()
        try self.checkReachEdges()
        try self.checkIdentities()
        // A status waiting for its message must not have a message.
        try self.txn.forEach(self.db.pendingStatus) { key, value in
            _ = try PendingStatus(decoding: value)
            var reader = ByteReader(key, database: "pendingStatus")
            let business = try reader.ordered()
            let id = try reader.bytes(key.count - reader.offset)
            if try self.reader.message(business: business, id: id) != nil {
                self.problem("a pending status is left for a recorded message")
            }
            return true
        }
    }

    private mutating func checkConversation(key: ConversationKey, record: ConversationRecord) throws {
        let label = key.label
        let messages = try self.reader.messages(of: record.id)
        let kept = try self.reader.controlsInRecordingOrder(of: record.id)
        let controls = try self.reader.controls(of: record)
        var derived = Self.derive(id: record.id, messages: messages, controls: controls, keptControls: kept.map(\.control),
                                  purged: record.purged, settings: self.settings)
        // A record last written by format 3 does not know its latest control's time; its readers
        // then read the controls. A time it does hold must be the history's.
        if record.lastControlAt == nil { derived.lastControlAt = nil }
        if derived != record { self.problem("\(label): stored state \(record) differs from its history \(derived)") }
        if try self.txn.get(self.db.customers, key: Keys.customer(key.customer, business: key.business)).map(ConversationReader.id) != record.id {
            self.problem("\(label): customers does not list the conversation")
        }
        if try self.reader.conversationKey(id: record.id) != key { self.problem("\(label): conversationKeys holds another key") }
        if let oldest = record.oldest {
            self.expected.oldest += 1
            if try !self.txn.contains(self.db.oldest, key: Keys.oldest(at: oldest, conversation: record.id)) {
                self.problem("\(label): oldest does not list the conversation at \(Timestamp.format(oldest))")
            }
        }
        self.report.messages += messages.count

        var reaches: [Int64: UInt32] = [:]
        for (messageKey, message) in messages {
            if try self.txn.value(self.db.messageIDs, key: Keys.messageID(business: key.business, id: message.id, seq: messageKey.seq)) != messageKey.encoded {
                self.problem("\(label): message \(Display.quoted(String(utf8Bytes: message.id))) is missing from messageIDs or points elsewhere")
            }
            guard message.direction == .outbound else { continue }
            // Every outbound's class, reach and charge entry (a failed one's class no longer counts).
            if !message.isFailed {
                let context = try self.reader.sendContext(
                    derived, at: messageKey.at, controls: controls.isEmpty ? nil : controls, freeWindowStart: derived.freeWindowStart)
                let outcome = SendRules.classify(isTemplate: message.isTemplate, category: message.category, context: context)
                if message.outcome != outcome {
                    self.problem("\(label): message \(Display.quoted(String(utf8Bytes: message.id))) is classed \(Self.name(message.outcome)), the rules say \(Self.name(outcome))")
                }
                let isReach = SendRules.isReach(isTemplate: message.isTemplate, outcome: outcome, context: context)
                if message.isReach != isReach {
                    self.problem("\(label): message \(Display.quoted(String(utf8Bytes: message.id))) is \(message.isReach ? "" : "not ")a reach, the rules say it is \(isReach ? "" : "not")")
                }
            } else if message.isReach || message.outcome != nil {
                self.problem("\(label): failed message \(Display.quoted(String(utf8Bytes: message.id))) keeps a class or counts as a reach")
            }
            if message.isReach { reaches[messageKey.at, default: 0] += 1 }
        }
        self.expected.messages += messages.count
        self.expected.controls += kept.count

        // Reaches and the R8 intervals they call for.
        for (t, count) in reaches {
            self.expected.reaches += 1
            if try self.reader.reachCount(of: record.id, at: t) != count {
                self.problem("\(label): reaches holds another count at \(Timestamp.format(t)) than its \(count) reaching templates")
            }
        }
        var starts = reaches.keys.sorted()
        if let purged = record.purged?.lastReach, starts.first.map({ purged < $0 }) ?? true { starts.insert(purged, at: 0) }
        for (i, start) in starts.enumerated() {
            let end = Recorder.intervalEnd(start: start, next: i + 1 < starts.count ? starts[i + 1] : nil)
            self.intervals[key.business, default: []].insert(ReachInterval(conversation: record.id, start: start, end: end))
        }

        // Index entries this conversation calls for.
        let indexed = IndexedState(derived, replySLA: try self.reader.replySLA(business: key.business), settings: self.settings)
        if indexed.due != nil { self.expected.due += 1 }
        if indexed.windowExpiresAt != nil { self.expected.expiry += 1 }
        for problem in try IndexUpkeep.problems(key, indexed, in: self.txn, db: self.db) { self.problem("\(label): \(problem)") }
    }

    /// Every charge entry of a message is where its message's class, market, day and platform
    /// pricing put it; every kept message has one.
    private mutating func checkCharges() throws {
        var messageEntries = 0
        var keptEntries = 0
        var problems: [String] = []
        try self.txn.forEach(self.db.charges) { rawKey, rawValue in
            let key = try ChargeKey(decoding: rawKey)
            switch try ChargeValue(decoding: rawValue) {
            case .kept(let at, _):
                keptEntries += 1
                if UTCCalendar.day(at) != key.day { problems.append("a kept charge at \(Timestamp.format(at)) is filed under another day") }
            case .message(let at, let id):
                messageEntries += 1
                let label = Display.quoted(String(utf8Bytes: id))
                guard let (messageKey, record) = try self.reader.message(business: key.business, id: id) else {
                    problems.append("the charge of message \(label) has no message")
                    return true
                }
                let conversation = try self.reader.conversationKey(id: messageKey.conversation)
                let want = ChargeKey(
                    business: conversation.business, market: Markets.market(ofCustomer: String(utf8Bytes: conversation.customer)),
                    billingClass: BillingClass(outcome: record.outcome ?? .free, failed: record.isFailed),
                    day: UTCCalendar.day(messageKey.at), platform: PlatformClass(record.pricing))
                if want != key || at != messageKey.at {
                    problems.append("the charge of message \(label) is filed as \(key.billingClass.name) in \(key.market) on day \(key.day), its message calls for \(want.billingClass.name) in \(want.market) on day \(want.day)")
                }
            }
            return true
        }
        for problem in problems { self.problem(problem) }
        let outbound = try self.countKeptOutbound()
        if messageEntries != outbound { self.problem("charges has \(messageEntries) entries of messages, the store has \(outbound) outbound messages") }
        self.report.indexEntries += messageEntries + keptEntries
    }

    private func countKeptOutbound() throws -> Int {
        var count = 0
        try self.txn.forEach(self.db.messages) { key, _ in
            if key.count == Keys.messageKeyCount, key[4] == Direction.outbound.rawValue { count += 1 }
            return true
        }
        return count
    }

    /// R8's intervals: each business's edges and midnight counts are those its conversations' reaches
    /// call for (a purge may have dropped intervals that ended a day before its horizon's midnight).
    private mutating func checkReachEdges() throws {
        var actual: [[UInt8]: Set<ReachInterval>] = [:]
        var starts: [[UInt8]: Set<[Int64]>] = [:]
        try self.txn.forEach(self.db.reachEdges) { rawKey, rawValue in
            var k = ByteReader(rawKey, database: "reachEdges")
            let business = try k.ordered()
            let edge = try k.u8()
            var v = ByteReader(rawValue, database: "reachEdges")
            let at = try v.time()
            let conversation = try v.u32()
            if edge == ReachEdge.end.rawValue {
                actual[business, default: []].insert(ReachInterval(conversation: conversation, start: try v.time(), end: at))
            } else {
                starts[business, default: []].insert([Int64(conversation), at])
            }
            return true
        }
        for business in Set(actual.keys).union(self.intervals.keys).union(starts.keys) {
            let label = Display.safe(String(utf8Bytes: business))
            let cutoff = (try self.reader.horizon(business: business)).map { UTCCalendar.start(ofDay: UTCCalendar.day($0)) - 86_400_000 } ?? .min
            let want = (self.intervals[business] ?? []).filter { $0.end > cutoff }
            let have = (actual[business] ?? []).filter { $0.end > cutoff }
            if want != have {
                self.problem("business \(label): reachEdges holds \(have.count) reach intervals, its reaches call for \(want.count)")
            }
            for interval in actual[business] ?? [] where !(starts[business]?.contains([Int64(interval.conversation), interval.start]) ?? false) {
                self.problem("business \(label): a reach interval's end at \(Timestamp.format(interval.end)) has no start")
            }
            // Every midnight's count, from the intervals.
            var midnights: [UInt32: UInt32] = [:]
            for interval in self.intervals[business] ?? [] {
                var day = UTCCalendar.day(interval.start)
                if UTCCalendar.start(ofDay: day) < interval.start { day += 1 }
                while UTCCalendar.start(ofDay: day) < interval.end {
                    midnights[day, default: 0] += 1
                    day += 1
                }
            }
            for (day, count) in midnights where UTCCalendar.start(ofDay: day) > cutoff {
                if try self.reader.reachDay(business: business, day: day) != count {
                    self.problem("business \(label): reachDays counts another number of reached customers at \(Timestamp.format(UTCCalendar.start(ofDay: day)))")
                }
            }
        }
    }

    /// Every link has its entry by phone number and back.
    private mutating func checkIdentities() throws {
        var forward = 0
        var backward = 0
        var problems: [String] = []
        try self.txn.forEach(self.db.identities) { key, value in
            var r = ByteReader(key, database: "identities")
            let business = try r.ordered()
            switch try r.u8() {
            case 1:
                forward += 1
                let userID = Array(key[r.offset...])
                if try !self.txn.contains(self.db.identities, key: Keys.identityByPhone(business: business, phone: Array(value), userID: userID)) {
                    problems.append("the link of user id \(Display.quoted(String(utf8Bytes: userID))) has no entry by phone number")
                }
            case 2: backward += 1
            default: problems.append("an identities key of an unknown kind")
            }
            return true
        }
        for problem in problems { self.problem(problem) }
        if forward != backward { self.problem("identities has \(forward) links and \(backward) entries by phone number") }
    }

    /// A conversation's state derived from its stored history alone (R1, R2, R3, R5, R6), the purged
    /// part from its summary.
    static func derive(
        id: UInt32, messages: [(key: MessageKey, record: MessageRecord)], controls: [RecordedControl], keptControls: [RecordedControl],
        purged: PurgedHistory?, settings: StoreSettings
    ) -> ConversationRecord {
        var derived = ConversationRecord(id: id)
        derived.purged = purged
        var inbound: [Int64] = purged.flatMap { $0.firstIn.map { [$0] } } ?? []
        if let lastIn = purged?.lastIn { inbound.append(lastIn) }
        var answers: [Int64] = purged?.lastOut.map { [$0] } ?? []
        var outboundCount = 0
        var keptInbound: [Int64] = []
        derived.freeEntryAt = purged?.freeEntryAt
        for (key, record) in messages {
            if key.direction == .inbound {
                inbound.append(key.at)
                keptInbound.append(key.at)
                if record.entryPoint != nil { derived.freeEntryAt = min(derived.freeEntryAt ?? key.at, key.at) }
            } else {
                outboundCount += 1
                if !record.isFailed { answers.append(key.at) }
            }
        }
        derived.messagesIn = UInt32(keptInbound.count) + (purged?.messagesIn ?? 0)
        derived.messagesOut = UInt32(outboundCount) + (purged?.messagesOut ?? 0)
        derived.firstIn = inbound.min()
        derived.lastIn = inbound.max()
        derived.lastOut = answers.max()
        if let lastOut = derived.lastOut {
            var waiting = keptInbound.filter { $0 > lastOut }
            if purged?.lastOut == lastOut, let since = purged?.waitingSince { waiting.append(since) }
            derived.waitingSince = waiting.min()
        } else {
            derived.waitingSince = derived.firstIn
        }
        if let entry = derived.freeEntryAt {
            var candidates = messages.filter { $0.key.direction == .outbound && !$0.record.isFailed }.map(\.key.at)
            if let start = purged?.freeWindowStart { candidates.append(start) }
            derived.freeWindowStart = candidates.filter { $0 >= entry && $0 < entry + settings.freeEntryReplyMillis }.min()
        }
        if !controls.isEmpty { derived.summarize(controls: controls) }
        derived.oldest = (messages.map(\.key.at) + keptControls.map(\.at)).min()
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
