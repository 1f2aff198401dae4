import Foundation
import GRDB

/// The same rules on SQLite through GRDB, tuned as its users would: WAL, `synchronous=FULL` (durable
/// like ConvoStore), cached prepared statements, one transaction per batch, and indexes on the due and
/// expiry times (by time and by business, as ConvoStore keeps them).
///
/// The rules (docs/domain.md R1 to R5) are applied in arrival order, which is time order in this
/// workload (see ``Workload``): each conversation row keeps the same derived state as ConvoStore's
/// record, so the overdue count and the billing totals must come out equal.
final class SQLiteEngine: Engine, @unchecked Sendable {
    // @unchecked: DatabasePool is Sendable; `workload` is immutable.
    private let pool: DatabasePool
    private let workload: Workload
    private static let window: Int64 = 86_400_000
    private static let replySLA: Int64 = 86_400_000
    private static let freeEntryReply: Int64 = 86_400_000
    private static let freeEntryWindow: Int64 = 259_200_000
    private static let rates: [Int64] = [25_000, 4_000, 4_000]  // marketing, utility, authentication

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
        CREATE INDEX conversations_due ON conversations (reply_due_at, business, customer) WHERE reply_due_at IS NOT NULL;
        CREATE INDEX conversations_due_by_business ON conversations (business, reply_due_at) WHERE reply_due_at IS NOT NULL;
        CREATE INDEX conversations_expiry ON conversations (window_expires_at, business, customer) WHERE window_expires_at IS NOT NULL;
        CREATE INDEX conversations_expiry_by_business ON conversations (business, window_expires_at) WHERE window_expires_at IS NOT NULL;
        CREATE TABLE messages (
            business TEXT NOT NULL, id TEXT NOT NULL,
            conversation INTEGER NOT NULL, direction INTEGER NOT NULL, at INTEGER NOT NULL,
            kind TEXT NOT NULL, category INTEGER, body BLOB, entry_point TEXT,
            outcome INTEGER, status INTEGER, status_at INTEGER,
            PRIMARY KEY (business, id)) WITHOUT ROWID;
        CREATE INDEX messages_by_conversation ON messages (conversation, direction, at);
        CREATE TABLE controls (conversation INTEGER NOT NULL, control_group INTEGER NOT NULL, at INTEGER NOT NULL, action INTEGER NOT NULL);
        CREATE INDEX controls_by_conversation ON controls (conversation, control_group, at);
        CREATE TABLE billing (business TEXT NOT NULL, at INTEGER NOT NULL, outcome INTEGER NOT NULL, amount INTEGER NOT NULL, conversation INTEGER NOT NULL);
        CREATE INDEX billing_by_business ON billing (business, at);
        """

    init(directory: String, workload: Workload) throws {
        var configuration = Configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA cache_size = -131072")  // 128 MiB, as a server would give it
            try db.execute(sql: "PRAGMA mmap_size = 1073741824")
        }
        self.pool = try DatabasePool(path: directory + "/store.sqlite", configuration: configuration)
        self.workload = workload
        try self.pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous = OFF")
            try db.execute(sql: Self.schema)
        }
    }

    func beginLivePhase(durable: Bool) throws {
        guard durable else { return }  // synchronous stays OFF, as in the import
        try self.pool.writeWithoutTransaction { db in
            // GRDB chooses NORMAL in WAL mode; FULL syncs the WAL on every commit, like ConvoStore's durable commits.
            try db.execute(sql: "PRAGMA synchronous = FULL")
            guard try Int.fetchOne(db, sql: "PRAGMA synchronous") == 2 else { throw EngineFailure(description: "sqlite: synchronous=FULL not in effect") }
        }
    }

    // MARK: Writing

    func apply(_ batch: ArraySlice<WorkloadEvent>) async throws {
        try await self.pool.write { db in
            for event in batch { try self.apply(event, db) }
        }
    }

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

    private func apply(_ event: WorkloadEvent, _ db: Database) throws {
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
                c.waitingSince = nil  // in time order no inbound is later than t
            }
            let freeStart = self.prospectiveFreeWindowStart(c, at: t)
            let category = event.kind == .template ? Int(event.detail) : nil
            let outcome = Self.classify(c, at: t, category: category, freeWindowStart: freeStart)
            c.freeWindowStart = freeStart
            let id = try self.save(c, business, customer, db)
            try self.insertMessage(event, id: id, business: business, direction: 1, kind: category == nil ? "text" : "template", entryPoint: nil, outcome: outcome, db)
            let amount = outcome & 0xF0 == 0x10 ? Self.rates[Int(outcome & 0x0F)] : 0
            try db.cachedStatement(sql: "INSERT INTO billing (business, at, outcome, amount, conversation) VALUES (?, ?, ?, ?, ?)")
                .execute(arguments: [business, t, outcome, amount, id])
        case .status:
            let id = Workload.messageID(event.message)
            guard let row = try Row.fetchOne(db.cachedStatement(sql: "SELECT status, status_at FROM messages WHERE business = ? AND id = ?"), arguments: [business, id]) else {
                throw EngineFailure(description: "sqlite: status for unknown message \(id)")
            }
            let current: Int64? = row[0]
            let currentAt: Int64? = row[1]
            let status = Int64(event.detail)
            // R6: the higher status wins; for the same status, the earlier time.
            if let current, current > status || (current == status && currentAt! <= t) { return }
            try db.cachedStatement(sql: "UPDATE messages SET status = ?, status_at = ? WHERE business = ? AND id = ?")
                .execute(arguments: [status, t, business, id])
        case .control:
            var c = try self.state(business, customer, db)
            let (group, flag, on) = Self.control(ControlChoice(rawValue: event.detail)!)
            c.flags = on ? c.flags | flag : c.flags & ~flag
            let id = try self.save(c, business, customer, db)
            try db.cachedStatement(sql: "INSERT INTO controls (conversation, control_group, at, action) VALUES (?, ?, ?, ?)")
                .execute(arguments: [id, group, t, event.detail])
        }
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

    /// R4 in its order, as an outcome code: 0 free, 0x10 | category charged, 0x20 | rule violated
    /// (1 blocked, 2 outside_window, 3 no_opt_in, 4 opted_out, 5 restricted).
    private static func classify(_ c: State, at t: Int64, category: Int?, freeWindowStart: Int64?) -> Int {
        if c.blocked { return 0x21 }
        let windowOpen = c.lastIn.map { $0 <= t && t < $0 + Self.window } ?? false
        guard let category else { return windowOpen ? 0 : 0x22 }
        if !(c.firstIn.map { $0 <= t } ?? false) && c.flags & State.optedIn == 0 { return 0x23 }
        if category == 0 {
            if c.flags & State.marketingOptedOut != 0 { return 0x24 }
            if c.flags & State.restricted != 0 { return 0x25 }
        }
        if let start = freeWindowStart, start <= t, t < start + Self.freeEntryWindow { return 0 }
        if category == 1 && windowOpen { return 0 }
        return 0x10 | category
    }

    private func state(_ business: String, _ customer: String, _ db: Database) throws -> State {
        let sql = """
            SELECT id, first_in, last_in, last_out, waiting_since, free_entry_at, free_window_start, messages_in, messages_out, flags
            FROM conversations WHERE business = ? AND customer = ?
            """
        guard let row = try Row.fetchOne(db.cachedStatement(sql: sql), arguments: [business, customer]) else { return State() }
        return State(
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
        return try self.pool.read { db in
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
        try self.pool.read { db in
            try self.waiting(db, sql: """
                SELECT business, customer, waiting_since, reply_due_at FROM conversations
                WHERE reply_due_at > ? AND reply_due_at <= ? ORDER BY reply_due_at, business, customer LIMIT ?
                """, after, until, limit).count
        }
    }

    func windowsClosing(from: Int64, to: Int64) throws -> Int {
        try self.pool.read { db in
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
        try self.pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM conversations WHERE reply_due_at <= ?", arguments: [asOf]) ?? 0
        }
    }

    func billingTotals() throws -> BillingTotals? {
        try self.pool.read { db in
            var totals = BillingTotals()
            for row in try Row.fetchAll(db, sql: "SELECT outcome, count(*), sum(amount) FROM billing GROUP BY outcome") {
                let outcome: Int = row[0]
                let count: Int = row[1]
                switch outcome & 0xF0 {
                case 0x10: totals.charged[outcome & 0x0F] += count
                case 0x20: totals.violations[(outcome & 0x0F) - 1] += count
                default: totals.free += count
                }
                totals.amountMicros += row[2] as Int64
            }
            return totals
        }
    }

    func close() throws {
        _ = try self.pool.writeWithoutTransaction { db in try db.checkpoint(.truncate) }
        try self.pool.close()
    }
}
