import ConvoStore
import Foundation
import GRDB

/// The same rules on SQLite through GRDB, tuned as its users would: WAL, `synchronous=FULL` (durable
/// like ConvoStore), cached prepared statements, one transaction per batch, and indexes on the due and
/// expiry times (by time and by business, as ConvoStore keeps them). A bulk load gets a large page
/// cache and builds the indexes that only queries read after its inserts.
///
/// The rules (docs/domain.md R1 to R8) are applied in arrival order, which is time order in this
/// workload (see ``Workload``): each conversation row keeps the same derived state as ConvoStore's
/// record, so the overdue count, the billing totals and amounts, and the reached counts must come out
/// equal. Pricing (R7) is this file's own: the market from ConvoStore's public market table
/// (`Markets.market(ofCustomer:)`), a count per (business, market, category, UTC month) kept with each
/// charge for the rank of a new message, the rate card in a table (``HarnessTariffs``); billing ranks
/// every charge by (time, message id) with a window function, so a message that failed later (R6)
/// leaves the ranks exact. A late `failed` status re-derives the answer, the free entry point window
/// and the classes it decided, as R6 says.
final class SQLiteEngine: GroupCommitEngine, @unchecked Sendable {
    // @unchecked: GRDB's writers are Sendable; `workload` and `tariffs` are immutable; `committer` is
    // made once, before the server mode's tasks start.
    /// A `DatabasePool` (WAL) live; a `DatabaseQueue` without a journal in the bulk load.
    private let database: any DatabaseWriter
    private let workload: Workload
    private let tariffs: HarnessTariffs
    private var committer: SQLiteGroupCommitter?
    private static let window: Int64 = 86_400_000
    private static let replySLA: Int64 = 86_400_000
    private static let freeEntryReply: Int64 = 86_400_000
    private static let freeEntryWindow: Int64 = 259_200_000
    /// `serviceChargesFrom`, the store setting's default (R7).
    private static let serviceChargesFrom: Int64 = 1_790_812_800_000
    private static let failed: Int64 = 4
    /// The page cache of the bulk load's connection: 8 GiB (of the benchmark machine's 24), as one
    /// would give a one-off load of a database that reaches about 10 GB at 10M users; live
    /// connections keep the 128 MiB a server would.
    private static let bulkLoadCacheKiB = 8_388_608

    /// Outcome codes (messages.outcome, billing.outcome): free, charged | category, violation | rule, failed.
    private enum Outcome {
        static let free = 0
        static let charged = 0x10
        static let violation = 0x20
        static let failed = 0x40
    }

    private static let schema = """
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            business TEXT NOT NULL,
            customer TEXT NOT NULL,
            first_in INTEGER, last_in INTEGER, last_out INTEGER, waiting_since INTEGER,
            free_entry_at INTEGER, free_window_start INTEGER,
            messages_in INTEGER NOT NULL, messages_out INTEGER NOT NULL,
            flags INTEGER NOT NULL,
            reply_due_at INTEGER,      -- waiting_since + reply SLA while not blocked (R2)
            window_expires_at INTEGER, -- last_in + window (R1)
            UNIQUE (business, customer));
        CREATE TABLE messages (
            business TEXT NOT NULL, id TEXT NOT NULL,
            conversation INTEGER NOT NULL, direction INTEGER NOT NULL, at INTEGER NOT NULL,
            kind TEXT NOT NULL, category INTEGER, body BLOB, entry_point TEXT,
            outcome INTEGER, status INTEGER, status_at INTEGER,
            PRIMARY KEY (business, id)) WITHOUT ROWID;
        CREATE INDEX messages_by_conversation ON messages (conversation, direction, at);
        CREATE TABLE controls (conversation INTEGER NOT NULL, control_group INTEGER NOT NULL, at INTEGER NOT NULL, action INTEGER NOT NULL);
        CREATE INDEX controls_by_conversation ON controls (conversation, control_group, at);
        -- One row per outbound message, as ConvoStore's `charges`: its market, UTC month and class.
        CREATE TABLE billing (
            business TEXT NOT NULL, id TEXT NOT NULL, market TEXT NOT NULL, month INTEGER NOT NULL,
            outcome INTEGER NOT NULL, at INTEGER NOT NULL,
            amount INTEGER NOT NULL, -- the price at its rank when it was recorded (what a live send answers)
            conversation INTEGER NOT NULL,
            PRIMARY KEY (business, id)) WITHOUT ROWID;
        -- Charged messages per (business, market, category, UTC month): a new message's rank (R7).
        CREATE TABLE charge_counts (
            business TEXT NOT NULL, market TEXT NOT NULL, category INTEGER NOT NULL, month INTEGER NOT NULL, charged INTEGER NOT NULL,
            PRIMARY KEY (business, market, category, month)) WITHOUT ROWID;
        -- R8: templates sent while the customer's window was closed, not violations, not failed.
        CREATE TABLE reaches (business TEXT NOT NULL, id TEXT NOT NULL, customer TEXT NOT NULL, at INTEGER NOT NULL,
            PRIMARY KEY (business, id)) WITHOUT ROWID;
        CREATE TABLE rates (
            effective_from INTEGER NOT NULL, market TEXT NOT NULL, category INTEGER NOT NULL, tier_from INTEGER NOT NULL,
            rate_micros INTEGER NOT NULL,
            PRIMARY KEY (effective_from, market, category, tier_from)) WITHOUT ROWID;
        """

    /// The indexes only the scans and the billing and reach queries read: a bulk load builds them once,
    /// after its inserts (``finishImport()``), as SQLite's users load a database; the live phase keeps
    /// them up to date on every write.
    private static let scanIndexes = """
        CREATE INDEX IF NOT EXISTS conversations_due ON conversations (reply_due_at, business, customer) WHERE reply_due_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS conversations_due_by_business ON conversations (business, reply_due_at) WHERE reply_due_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS conversations_expiry ON conversations (window_expires_at, business, customer) WHERE window_expires_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS conversations_expiry_by_business ON conversations (business, window_expires_at) WHERE window_expires_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS billing_by_business ON billing (business, at);
        CREATE INDEX IF NOT EXISTS reaches_by_time ON reaches (business, at);
        """

    /// A new database, as `sqliteserver` opens it (in WAL mode, its journal kept); ``beginLivePhase(durable:)``
    /// then makes commits durable.
    convenience init(directory: String, workload: Workload) throws {
        try self.init(directory: directory, workload: workload, mode: .bulkLoad, journal: true)
    }

    /// `journal`: whether a bulk load keeps its journal (WAL); the harness's import does not.
    init(directory: String, workload: Workload, mode: OpenMode, journal: Bool = false) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA cache_size = -131072")  // 128 MiB, as a server would give it
            try db.execute(sql: "PRAGMA mmap_size = 1073741824")
        }
        self.workload = workload
        if case .bulkLoad = mode {
            // A one-off load into a new file, as SQLite's users make one: no journal (the file is
            // made again if the load is cut short), so that each page is written once, not to the
            // WAL and again by its checkpoints (at 10M users, with WAL, 18 of the 29 million events
            // wrote 330 GB and read back 166 GB in 39 minutes).
            self.database = journal
                ? try DatabasePool(path: directory + "/store.sqlite", configuration: configuration)
                : try DatabaseQueue(path: directory + "/store.sqlite", configuration: configuration)
            try self.database.writeWithoutTransaction { db in
                if !journal, try String.fetchOne(db, sql: "PRAGMA journal_mode = OFF") != "off" {
                    throw EngineFailure(description: "sqlite: journal_mode=OFF not in effect for the bulk load")
                }
                try db.execute(sql: "PRAGMA synchronous = OFF")
                // The bulk load's connection gets a cache for the trees it inserts into at random.
                try db.execute(sql: "PRAGMA cache_size = -\(Self.bulkLoadCacheKiB)")
                try db.execute(sql: Self.schema)
                for row in HarnessRateCard.rows {
                    try db.execute(
                        sql: "INSERT INTO rates (effective_from, market, category, tier_from, rate_micros) VALUES (?, ?, ?, ?, ?)",
                        arguments: [row.effectiveFrom, row.market, row.category, row.tierFrom, row.rate])
                }
            }
        } else {
            self.database = try DatabasePool(path: directory + "/store.sqlite", configuration: configuration)
        }
        // The rate card as the engine prices with it: read back from its table.
        self.tariffs = HarnessTariffs(rows: try self.database.read { db in
            try Row.fetchAll(db, sql: "SELECT effective_from, market, category, tier_from, rate_micros FROM rates").map {
                HarnessRateCard.Row(effectiveFrom: $0[0], market: $0[1], category: $0[2], tierFrom: $0[3], rate: $0[4])
            }
        })
        if case .live(let durable) = mode { try self.beginLivePhase(durable: durable) }
    }

    /// Makes every later commit durable (`synchronous=FULL`), or leaves it OFF for the diagnosis. A
    /// database that was never bulk loaded (`sqliteserver`'s) gets its scan indexes here.
    func beginLivePhase(durable: Bool) throws {
        try self.database.writeWithoutTransaction { db in
            try db.execute(sql: Self.scanIndexes)
            guard durable else {
                try db.execute(sql: "PRAGMA synchronous = OFF")
                return
            }
            // GRDB chooses NORMAL in WAL mode; FULL syncs the WAL on every commit, like ConvoStore's durable commits.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            guard try Int.fetchOne(db, sql: "PRAGMA synchronous") == 2 else { throw EngineFailure(description: "sqlite: synchronous=FULL not in effect") }
        }
    }

    // MARK: Writing

    func apply(_ batch: ArraySlice<WorkloadEvent>) async throws {
        try await self.database.write { db in
            for event in batch { try self.apply(event, db, lenient: false) }
        }
    }

    func submit(_ event: WorkloadEvent) async throws {
        guard let committer = self.committer else { throw EngineFailure(description: "sqlite: startGroupCommit() first") }
        try await committer.submit(event)
    }

    /// Starts the group-commit writer of the server mode: one writer thread, each commit holding every
    /// request waiting, as ConvoStore's writer does.
    func startGroupCommit(maxEventsPerCommit: Int) {
        self.committer = SQLiteGroupCommitter(maxEventsPerCommit: maxEventsPerCommit) { [self] batch in
            try self.database.write { db in
                for event in batch { try self.apply(event, db, lenient: true) }
            }
        }
    }

    func takeBatchSizes() -> [Int] { self.committer?.takeBatchSizes() ?? [] }

    /// A conversation row's derived state; the same fields as ConvoStore's record.
    private struct State {
        var id: Int64?
        var firstIn: Int64?
        var lastIn: Int64?
        var lastOut: Int64?
        var waitingSince: Int64?
        var freeEntryAt: Int64?
        var freeWindowStart: Int64?
        var messagesIn: Int64 = 0
        var messagesOut: Int64 = 0
        var flags: Int64 = 0

        static let customerBlocked: Int64 = 1, businessBlocked: Int64 = 2, restricted: Int64 = 4
        static let marketingOptedOut: Int64 = 8, optedIn: Int64 = 16
        var blocked: Bool { self.flags & (Self.customerBlocked | Self.businessBlocked) != 0 }
    }

    /// `lenient`: events may arrive slightly out of order (the server mode's concurrent tasks), so a
    /// status for a message not yet recorded is skipped instead of failing the run.
    private func apply(_ event: WorkloadEvent, _ db: Database, lenient: Bool) throws {
        let conversation = self.workload.conversations[Int(event.conversation)]
        let business = Workload.businessID(conversation.business)
        let customer = Workload.customerID(conversation.customer)
        let t = event.at
        switch event.kind {
        case .inbound:
            var c = try self.state(business, customer, db)
            c.messagesIn += 1
            c.firstIn = min(c.firstIn ?? t, t)
            c.lastIn = max(c.lastIn ?? t, t)
            if c.lastOut.map({ t > $0 }) ?? true { c.waitingSince = min(c.waitingSince ?? t, t) }
            let entryPoint = event.detail == 1
            // R3: the first entry point counts; no outbound follows it yet in time order.
            if entryPoint, c.freeEntryAt == nil { c.freeEntryAt = t }
            let id = try self.save(c, business, customer, db)
            try self.insertMessage(event, id: id, business: business, direction: 0, kind: "text", entryPoint: entryPoint ? "ad:ad-2026" : nil, outcome: nil, db)
        case .reply, .template:
            var c = try self.state(business, customer, db)
            c.messagesOut += 1
            if c.lastOut.map({ t > $0 }) ?? true {
                c.lastOut = t
                c.waitingSince = try self.waitingSince(c, answeredAt: t, db)
            }
            let freeStart = self.prospectiveFreeWindowStart(c, at: t)
            let category = event.kind == .template ? Int(event.detail) : nil
            let windowOpen = try self.latestInbound(c, atOrBefore: t, db).map { t < $0 + Self.window } ?? false
            let outcome = Self.classify(flags: c.flags, windowOpen: windowOpen, customerWrote: c.firstIn.map { $0 <= t } ?? false,
                                        at: t, category: category, freeWindowStart: freeStart)
            c.freeWindowStart = freeStart
            let id = try self.save(c, business, customer, db)
            try self.insertMessage(event, id: id, business: business, direction: 1, kind: category == nil ? "text" : "template", entryPoint: nil, outcome: outcome, db)
            let market = Markets.market(ofCustomer: customer).name
            let month = UTCMonth.of(t)
            var amount: Int64 = 0
            if outcome & 0xF0 == Outcome.charged {
                let rank = try self.countCharge(business: business, market: market, category: outcome & 0x0F, month: month, by: 1, db)
                amount = self.tariffs.price(market: market, category: outcome & 0x0F, at: t, rank: rank)
            }
            let messageID = Workload.messageID(event.message)
            try db.cachedStatement(sql: "INSERT INTO billing (business, id, market, month, outcome, at, amount, conversation) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
                .execute(arguments: [business, messageID, market, month, outcome, t, amount, id])
            // R8: an allowed template sent while the customer's window is closed reaches the customer.
            if category != nil, outcome & 0xF0 != Outcome.violation, !windowOpen {
                try db.cachedStatement(sql: "INSERT INTO reaches (business, id, customer, at) VALUES (?, ?, ?, ?)")
                    .execute(arguments: [business, messageID, customer, t])
            }
        case .status:
            let id = Workload.messageID(event.message)
            let sql = "SELECT status, status_at, direction, conversation, at, outcome FROM messages WHERE business = ? AND id = ?"
            guard let row = try Row.fetchOne(db.cachedStatement(sql: sql), arguments: [business, id]) else {
                if lenient { return }
                throw EngineFailure(description: "sqlite: status for unknown message \(id)")
            }
            let current: Int64? = row[0]
            let currentAt: Int64? = row[1]
            let status = Int64(event.detail)
            // R6: the higher status wins (failed is the highest, and final); for the same status, the earlier time.
            if let current, current > status || (current == status && currentAt! <= t) { return }
            try db.cachedStatement(sql: "UPDATE messages SET status = ?, status_at = ? WHERE business = ? AND id = ?")
                .execute(arguments: [status, t, business, id])
            if status == Self.failed, row[2] as Int64 == 1 {
                try self.applyFailure(business: business, id: id, conversation: row[3], at: row[4], outcome: row[5], db)
            }
        case .control:
            var c = try self.state(business, customer, db)
            let (group, flag, on) = Self.control(ControlChoice(rawValue: event.detail)!)
            c.flags = on ? c.flags | flag : c.flags & ~flag
            let id = try self.save(c, business, customer, db)
            try db.cachedStatement(sql: "INSERT INTO controls (conversation, control_group, at, action) VALUES (?, ?, ?, ?)")
                .execute(arguments: [id, group, t, event.detail])
        }
    }

    /// Adds `delta` to the charged count of (business, market, category, month) and returns the new
    /// count: for a new message in time order, its rank.
    @discardableResult
    private func countCharge(business: String, market: String, category: Int, month: Int, by delta: Int, _ db: Database) throws -> Int64 {
        try Int64.fetchOne(
            db.cachedStatement(sql: """
                INSERT INTO charge_counts (business, market, category, month, charged) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (business, market, category, month) DO UPDATE SET charged = charged + excluded.charged
                RETURNING charged
                """),
            arguments: [business, market, category, month, delta]) ?? 0
    }

    /// R6: the outbound message `id` failed. It leaves its class (it is counted under `failed`), its
    /// reach, and no longer answers or opens the free window; what those decided is re-derived.
    private func applyFailure(business: String, id: String, conversation: Int64, at t: Int64, outcome: Int?, _ db: Database) throws {
        if let outcome, outcome & 0xF0 == Outcome.charged {
            try self.countCharge(business: business, market: try self.market(business: business, id: id, db), category: outcome & 0x0F,
                                 month: UTCMonth.of(t), by: -1, db)
        }
        try db.cachedStatement(sql: "UPDATE billing SET outcome = ?, amount = 0 WHERE business = ? AND id = ?")
            .execute(arguments: [Outcome.failed, business, id])
        try db.cachedStatement(sql: "UPDATE messages SET outcome = NULL WHERE business = ? AND id = ?").execute(arguments: [business, id])
        try db.cachedStatement(sql: "DELETE FROM reaches WHERE business = ? AND id = ?").execute(arguments: [business, id])
        guard var c = try self.state(id: conversation, db), let customer = try String.fetchOne(
            db.cachedStatement(sql: "SELECT customer FROM conversations WHERE id = ?"), arguments: [conversation])
        else { throw EngineFailure(description: "sqlite: a message of an unknown conversation failed") }
        if c.lastOut == t {
            c.lastOut = try Int64.fetchOne(
                db.cachedStatement(sql: "SELECT max(at) FROM messages WHERE conversation = ? AND direction = 1 AND coalesce(status, 0) <> 4"),
                arguments: [conversation])
            c.waitingSince = try self.waitingSince(c, answeredAt: c.lastOut, db)
        }
        if c.freeWindowStart == t, let entry = c.freeEntryAt {
            let newStart = try Int64.fetchOne(
                db.cachedStatement(sql: """
                    SELECT min(at) FROM messages WHERE conversation = ? AND direction = 1 AND at >= ? AND at < ? AND coalesce(status, 0) <> 4
                    """),
                arguments: [conversation, entry, entry + Self.freeEntryReply])
            c.freeWindowStart = newStart
            // The sends of both windows may change class (free inside the window, charged outside).
            for start in [t, newStart].compactMap({ $0 }) {
                try self.reclassify(c, business: business, customer: customer, from: start, to: start + Self.freeEntryWindow, db)
            }
        }
        _ = try self.save(c, business, customer, db)
    }

    private func market(business: String, id: String, _ db: Database) throws -> String {
        try String.fetchOne(db.cachedStatement(sql: "SELECT market FROM billing WHERE business = ? AND id = ?"), arguments: [business, id]) ?? "other"
    }

    /// Classifies again the outbound messages of a conversation in `[from, to)` that did not fail, at
    /// their own times (the controls and inbound messages in effect then), and moves their charges.
    private func reclassify(_ c: State, business: String, customer: String, from: Int64, to: Int64, _ db: Database) throws {
        let rows = try Row.fetchAll(
            db.cachedStatement(sql: """
                SELECT id, at, category, kind, outcome FROM messages
                WHERE conversation = ? AND direction = 1 AND at >= ? AND at < ? AND coalesce(status, 0) <> 4
                """),
            arguments: [c.id!, from, to])
        for row in rows {
            let id: String = row[0]
            let t: Int64 = row[1]
            let category: Int? = (row[3] as String) == "template" ? row[2] : nil
            let old: Int = row[4]
            let windowOpen = try self.latestInbound(c, atOrBefore: t, db).map { t < $0 + Self.window } ?? false
            let outcome = Self.classify(flags: try self.flags(conversation: c.id!, at: t, db), windowOpen: windowOpen,
                                        customerWrote: c.firstIn.map { $0 <= t } ?? false, at: t, category: category, freeWindowStart: c.freeWindowStart)
            guard outcome != old else { continue }
            let market = Markets.market(ofCustomer: customer).name
            if old & 0xF0 == Outcome.charged { try self.countCharge(business: business, market: market, category: old & 0x0F, month: UTCMonth.of(t), by: -1, db) }
            var amount: Int64 = 0
            if outcome & 0xF0 == Outcome.charged {
                let rank = try self.countCharge(business: business, market: market, category: outcome & 0x0F, month: UTCMonth.of(t), by: 1, db)
                amount = self.tariffs.price(market: market, category: outcome & 0x0F, at: t, rank: rank)
            }
            try db.cachedStatement(sql: "UPDATE messages SET outcome = ? WHERE business = ? AND id = ?").execute(arguments: [outcome, business, id])
            try db.cachedStatement(sql: "UPDATE billing SET outcome = ?, amount = ? WHERE business = ? AND id = ?").execute(arguments: [outcome, amount, business, id])
        }
    }

    /// R5: the state of every control group of a conversation at `t` (its latest control at or
    /// before `t`; the one recorded last among equal times).
    private func flags(conversation: Int64, at t: Int64, _ db: Database) throws -> Int64 {
        var flags: Int64 = 0
        for group in 0...4 {
            guard let action = try Int.fetchOne(
                db.cachedStatement(sql: """
                    SELECT action FROM controls WHERE conversation = ? AND control_group = ? AND at <= ? ORDER BY at DESC, rowid DESC LIMIT 1
                    """),
                arguments: [conversation, group, t])
            else { continue }
            let (_, flag, on) = Self.control(ControlChoice(rawValue: UInt8(action))!)
            if on { flags |= flag }
        }
        return flags
    }

    /// R1: the latest inbound at or before `t` (the row's `last_in` unless it is later than `t`).
    private func latestInbound(_ c: State, atOrBefore t: Int64, _ db: Database) throws -> Int64? {
        guard let lastIn = c.lastIn else { return nil }
        if lastIn <= t { return lastIn }
        return try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT max(at) FROM messages WHERE conversation = ? AND direction = 0 AND at <= ?"), arguments: [c.id!, t])
    }

    /// R2: the earliest inbound after the answer at `answer`; the earliest of all when nothing answered.
    private func waitingSince(_ c: State, answeredAt answer: Int64?, _ db: Database) throws -> Int64? {
        guard let answer else { return c.firstIn }
        guard let lastIn = c.lastIn, lastIn > answer else { return nil }
        return try Int64.fetchOne(
            db.cachedStatement(sql: "SELECT min(at) FROM messages WHERE conversation = ? AND direction = 0 AND at > ?"), arguments: [c.id!, answer])
    }

    /// The control's group (as ConvoStore numbers them), the flag of the group, and whether it sets it.
    private static func control(_ choice: ControlChoice) -> (group: Int, flag: Int64, on: Bool) {
        switch choice {
        case .customerBlock, .customerReportSpam: (0, State.customerBlocked, true)
        case .customerUnblock: (0, State.customerBlocked, false)
        case .customerRestrict: (1, State.restricted, true)
        case .customerUnrestrict: (1, State.restricted, false)
        case .customerMarketingOptOut: (2, State.marketingOptedOut, true)
        case .customerOptIn: (3, State.optedIn, true)
        case .businessBlock: (4, State.businessBlocked, true)
        case .businessUnblock: (4, State.businessBlocked, false)
        }
    }

    /// R3: a send within the reply time of the first entry point opens the free window, once.
    private func prospectiveFreeWindowStart(_ c: State, at t: Int64) -> Int64? {
        if let entry = c.freeEntryAt, entry <= t, t < entry + Self.freeEntryReply, c.freeWindowStart.map({ t < $0 }) ?? true {
            return t
        }
        return c.freeWindowStart
    }

    /// R4 in its order, with R7's service charges, as an outcome code: 0 free, 0x10 | category charged
    /// (3: service), 0x20 | rule violated (1 blocked, 2 outside_window, 3 no_opt_in, 4 opted_out, 5 restricted).
    private static func classify(flags: Int64, windowOpen: Bool, customerWrote: Bool, at t: Int64, category: Int?, freeWindowStart: Int64?) -> Int {
        if flags & (State.customerBlocked | State.businessBlocked) != 0 { return Outcome.violation | 1 }
        let inFreeWindow = freeWindowStart.map { $0 <= t && t < $0 + Self.freeEntryWindow } ?? false
        let serviceCharged = t >= Self.serviceChargesFrom
        guard let category else {
            guard windowOpen else { return Outcome.violation | 2 }
            return serviceCharged && !inFreeWindow ? Outcome.charged | 3 : Outcome.free
        }
        if !customerWrote && flags & State.optedIn == 0 { return Outcome.violation | 3 }
        if category == 0 {
            if flags & State.marketingOptedOut != 0 { return Outcome.violation | 4 }
            if flags & State.restricted != 0 { return Outcome.violation | 5 }
        }
        if inFreeWindow { return Outcome.free }
        if category == 1 && windowOpen && !serviceCharged { return Outcome.free }
        return Outcome.charged | category
    }

    private static let stateColumns = "id, first_in, last_in, last_out, waiting_since, free_entry_at, free_window_start, messages_in, messages_out, flags"

    private func state(_ business: String, _ customer: String, _ db: Database) throws -> State {
        let sql = "SELECT \(Self.stateColumns) FROM conversations WHERE business = ? AND customer = ?"
        guard let row = try Row.fetchOne(db.cachedStatement(sql: sql), arguments: [business, customer]) else { return State() }
        return Self.state(row)
    }

    private func state(id: Int64, _ db: Database) throws -> State? {
        try Row.fetchOne(db.cachedStatement(sql: "SELECT \(Self.stateColumns) FROM conversations WHERE id = ?"), arguments: [id]).map(Self.state)
    }

    private static func state(_ row: Row) -> State {
        State(
            id: row[0], firstIn: row[1], lastIn: row[2], lastOut: row[3], waitingSince: row[4], freeEntryAt: row[5],
            freeWindowStart: row[6], messagesIn: row[7], messagesOut: row[8], flags: row[9])
    }

    /// Writes the conversation with its due and expiry times; returns its id.
    private func save(_ c: State, _ business: String, _ customer: String, _ db: Database) throws -> Int64 {
        let due = c.blocked ? nil : c.waitingSince.map { $0 + Self.replySLA }
        let expires = c.lastIn.map { $0 + Self.window }
        let values: [(any DatabaseValueConvertible)?] = [
            c.firstIn, c.lastIn, c.lastOut, c.waitingSince, c.freeEntryAt, c.freeWindowStart, c.messagesIn, c.messagesOut, c.flags, due, expires,
        ]
        guard let id = c.id else {
            try db.cachedStatement(sql: """
                INSERT INTO conversations (first_in, last_in, last_out, waiting_since, free_entry_at, free_window_start,
                    messages_in, messages_out, flags, reply_due_at, window_expires_at, business, customer)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """).execute(arguments: StatementArguments(values + [business, customer]))
            return db.lastInsertedRowID
        }
        try db.cachedStatement(sql: """
            UPDATE conversations SET first_in = ?, last_in = ?, last_out = ?, waiting_since = ?, free_entry_at = ?, free_window_start = ?,
                messages_in = ?, messages_out = ?, flags = ?, reply_due_at = ?, window_expires_at = ?
            WHERE id = ?
            """).execute(arguments: StatementArguments(values + [id]))
        return id
    }

    private func insertMessage(
        _ event: WorkloadEvent, id conversation: Int64, business: String, direction: Int, kind: String, entryPoint: String?, outcome: Int?, _ db: Database
    ) throws {
        let body = self.workload.body(event).withUnsafeBytes { Data($0) }
        try db.cachedStatement(sql: """
            INSERT INTO messages (business, id, conversation, direction, at, kind, category, body, entry_point, outcome)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """).execute(arguments: [
                business, Workload.messageID(event.message), conversation, direction, event.at, kind,
                event.kind == .template ? Int(event.detail) : nil, body, entryPoint, outcome,
            ])
    }

    // MARK: Reading

    func checkSend(conversation: UInt32, at t: Int64) throws -> Bool {
        let c = self.workload.conversations[Int(conversation)]
        return try self.database.read { db in
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT id, last_in, flags FROM conversations WHERE business = ? AND customer = ?"),
                arguments: [Workload.businessID(c.business), Workload.customerID(c.customer)])
            guard let row, (row[2] as Int64) & (State.customerBlocked | State.businessBlocked) == 0 else { return false }
            var lastIn: Int64? = row[1]
            if let last = lastIn, last > t {
                // The writer is ahead of `t`: the latest inbound at or before it.
                lastIn = try Int64.fetchOne(
                    db.cachedStatement(sql: "SELECT max(at) FROM messages WHERE conversation = ? AND direction = 0 AND at <= ?"),
                    arguments: [row[0] as Int64, t])
            }
            return lastIn.map { t < $0 + Self.window } ?? false
        }
    }

    func newlyOverdue(after: Int64, until: Int64, limit: Int) throws -> Int {
        try self.database.read { db in
            try self.waiting(db, sql: """
                SELECT business, customer, waiting_since, reply_due_at FROM conversations
                WHERE reply_due_at > ? AND reply_due_at <= ? ORDER BY reply_due_at, business, customer LIMIT ?
                """, after, until, limit).count
        }
    }

    func windowsClosing(from: Int64, to: Int64) throws -> Int {
        try self.database.read { db in
            try self.waiting(db, sql: """
                SELECT business, customer, window_expires_at, window_expires_at FROM conversations
                WHERE window_expires_at >= ? AND window_expires_at < ? ORDER BY window_expires_at, business, customer LIMIT ?
                """, from, to, Int.max).count
        }
    }

    /// Builds the scan's results, as ConvoStore's scans do.
    private func waiting(_ db: Database, sql: String, _ lower: Int64, _ upper: Int64, _ limit: Int) throws -> [(String, String, Int64, Int64)] {
        var out: [(String, String, Int64, Int64)] = []
        let rows = try Row.fetchCursor(db.cachedStatement(sql: sql), arguments: [lower, upper, limit])
        while let row = try rows.next() { out.append((row[0], row[1], row[2], row[3])) }
        return out
    }

    func countOverdue(asOf: Int64) throws -> Int {
        try self.database.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM conversations WHERE reply_due_at <= ?", arguments: [asOf]) ?? 0
        }
    }

    /// Billing over every business: counts by class, and amounts priced at each charge's rank in its
    /// (business, market, category, UTC month) by (time, message id), ranked now, so exact whatever
    /// failed or moved after it was recorded.
    func billingTotals() throws -> BillingTotals? {
        try self.database.read { db in
            var totals = BillingTotals()
            for row in try Row.fetchAll(db, sql: "SELECT outcome, count(*) FROM billing GROUP BY outcome") {
                let outcome: Int = row[0]
                let count: Int = row[1]
                switch outcome & 0xF0 {
                case Outcome.charged: totals.charged[outcome & 0x0F] += count
                case Outcome.violation: totals.violations[(outcome & 0x0F) - 1] += count
                case Outcome.failed: totals.failed += count
                default: totals.free += count
                }
            }
            let ranked = try Row.fetchCursor(db, sql: """
                SELECT market, outcome, at, ROW_NUMBER() OVER (PARTITION BY business, market, outcome, month ORDER BY at, id)
                FROM billing WHERE outcome BETWEEN ? AND ?
                """, arguments: [Outcome.charged, Outcome.charged | 3])
            while let row = try ranked.next() {
                let market: String = row[0]
                let price = self.tariffs.price(market: market, category: (row[1] as Int) & 0x0F, at: row[2], rank: row[3])
                totals.amountMicros += price
                totals.marketAmounts[market, default: 0] += price
            }
            for business in BillingTotals.reachSample {
                let at = Workload.end - 1
                totals.reached.append(try Int.fetchOne(
                    db, sql: "SELECT count(DISTINCT customer) FROM reaches WHERE business = ? AND at > ? AND at <= ?",
                    arguments: [Workload.businessID(business), at - Self.window, at]) ?? 0)
            }
            return totals
        }
    }

    /// Builds the scan indexes (part of the timed import, as the inserts are), puts the file in WAL
    /// mode for the live phase's pool, and closes.
    func finishImport() throws {
        try self.database.writeWithoutTransaction { db in
            try db.execute(sql: Self.scanIndexes)
            guard try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL") == "wal" else {
                throw EngineFailure(description: "sqlite: journal_mode=WAL not in effect after the bulk load")
            }
        }
        try self.close()
    }

    func close() throws {
        self.committer?.stop()
        _ = try self.database.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        try self.database.close()
    }
}

/// The server mode's writer for SQLite, shaped as ConvoStore's `GroupCommitWriter`: callers queue
/// one event each; one thread takes every request waiting (up to a maximum), runs them in one
/// transaction, commits, then resumes them. A batch that fails runs again one request per commit.
final class SQLiteGroupCommitter: @unchecked Sendable {
    // @unchecked: `queue`, `stopping` and `batchSizes` are only touched under `condition`.
    private let condition = NSCondition()
    private var queue: [(event: WorkloadEvent, continuation: CheckedContinuation<Void, any Error>)] = []
    private var stopping = false
    private var batchSizes: [Int] = []
    private let maxEventsPerCommit: Int
    private let commit: ([WorkloadEvent]) throws -> Void
    private let finished = DispatchSemaphore(value: 0)

    init(maxEventsPerCommit: Int, commit: @escaping ([WorkloadEvent]) throws -> Void) {
        self.maxEventsPerCommit = maxEventsPerCommit
        self.commit = commit
        let thread = Thread { [self] in self.loop() }
        thread.name = "sqlite-group-commit"
        thread.start()
    }

    func submit(_ event: WorkloadEvent) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            self.condition.lock()
            self.queue.append((event, continuation))
            self.condition.signal()
            self.condition.unlock()
        }
    }

    func takeBatchSizes() -> [Int] {
        self.condition.lock()
        defer { self.condition.unlock() }
        let sizes = self.batchSizes
        self.batchSizes.removeAll()
        return sizes
    }

    func stop() {
        self.condition.lock()
        self.stopping = true
        self.condition.signal()
        self.condition.unlock()
        self.finished.wait()
    }

    private func loop() {
        while true {
            self.condition.lock()
            while self.queue.isEmpty && !self.stopping { self.condition.wait() }
            if self.queue.isEmpty {
                self.condition.unlock()
                self.finished.signal()
                return
            }
            let batch = Array(self.queue.prefix(self.maxEventsPerCommit))
            self.queue.removeFirst(batch.count)
            self.batchSizes.append(batch.count)
            self.condition.unlock()
            do {
                try self.commit(batch.map(\.event))
                for request in batch { request.continuation.resume() }
            } catch {
                for request in batch {
                    do {
                        try self.commit([request.event])
                        request.continuation.resume()
                    } catch {
                        request.continuation.resume(throwing: error)
                    }
                }
            }
        }
    }
}
