import ArgumentParser
import ConvoStore

// overdue, newly-overdue, windows: the R2 scans, streamed from the store to the output.

/// The scans' table columns and the JSON field each shows: one definition for a store's commands and
/// the cluster's (which print the merged JSON lines as the same table).
enum ScanColumns {
    static let waiting: KeyValuePairs<String, String> = [
        "BUSINESS": "business", "CUSTOMER": "customer", "WAITING SINCE": "waiting_since", "REPLY DUE AT": "reply_due_at",
    ]
    static let windows: KeyValuePairs<String, String> = ["BUSINESS": "business", "CUSTOMER": "customer", "WINDOW EXPIRES AT": "window_expires_at"]
}

/// Prints waiting conversations as JSON Lines or a table, as the walk hands them over.
private func printWaiting(json: Bool, limit: Int?, _ walk: ((WaitingConversation) throws -> Bool) throws -> Void) throws {
    var printed = 0
    let limit = limit ?? .max
    guard limit > 0 else { return }
    if json {
        var out = Output()
        try walk { w in
            try out.line(OutputJSON.waiting(w))
            printed += 1
            return printed < limit
        }
        try out.flush()
    } else {
        var table = TableWriter(ScanColumns.waiting.map(\.key), output: Output())
        try walk { w in
            try table.row([w.business, w.customer, rfc3339(w.waitingSince), rfc3339(w.replyDueAt)])
            printed += 1
            return printed < limit
        }
        try table.finish()
    }
}

/// `--limit N`: at least 0.
func checkLimit(_ limit: Int?) throws {
    if let limit, limit < 0 { throw ValidationError("--limit \(limit): must not be negative") }
}

struct Overdue: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Conversations overdue at a time (R2).")
    @OptionGroup var store: StoreOption
    @Option(name: .customLong("as-of"), help: "The time.", transform: Time.parse) var asOf: Time
    @Option(help: "Only this business.") var business: String?
    @Option(help: "At most N conversations.") var limit: Int?
    @Flag(help: "JSON Lines output.") var json = false

    func validate() throws { try checkLimit(self.limit) }

    func run() throws {
        let db = try self.store.open()
        try db.read { reader in
            try printWaiting(json: self.json, limit: self.limit) { body in
                try reader.forEachOverdue(asOf: self.asOf.millis, business: self.business, body)
            }
        }
    }
}

struct NewlyOverdue: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "newly-overdue", abstract: "Conversations whose reply fell due in (T1, T2].")
    @OptionGroup var store: StoreOption
    @Option(help: "T1 (exclusive).", transform: Time.parse) var after: Time
    @Option(help: "T2 (inclusive).", transform: Time.parse) var until: Time
    @Option(help: "At most N conversations.") var limit: Int?
    @Flag(help: "JSON Lines output.") var json = false

    func validate() throws { try checkLimit(self.limit) }

    func run() throws {
        let db = try self.store.open()
        try db.read { reader in
            try printWaiting(json: self.json, limit: self.limit) { body in
                try reader.forEachNewlyOverdue(after: self.after.millis, until: self.until.millis, body)
            }
        }
    }
}

struct Windows: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Windows closing in [T1, T2).")
    @OptionGroup var store: StoreOption
    @Option(help: "T1 (inclusive).", transform: Time.parse) var from: Time
    @Option(help: "T2 (exclusive).", transform: Time.parse) var to: Time
    @Option(help: "Only this business.") var business: String?
    @Option(help: "At most N conversations.") var limit: Int?
    @Flag(help: "JSON Lines output.") var json = false

    func validate() throws { try checkLimit(self.limit) }

    func run() throws {
        let db = try self.store.open()
        let limit = self.limit ?? .max
        guard limit > 0 else { return }
        var printed = 0
        try db.read { reader in
            if self.json {
                var out = Output()
                try reader.forEachWindowClosing(from: self.from.millis, to: self.to.millis, business: self.business) { w in
                    try out.line(OutputJSON.window(w))
                    printed += 1
                    return printed < limit
                }
                try out.flush()
            } else {
                var table = TableWriter(ScanColumns.windows.map(\.key), output: Output())
                try reader.forEachWindowClosing(from: self.from.millis, to: self.to.millis, business: self.business) { w in
                    try table.row([w.business, w.customer, rfc3339(w.windowExpiresAt)])
                    printed += 1
                    return printed < limit
                }
                try table.finish()
            }
        }
    }
}
