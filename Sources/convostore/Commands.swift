import ArgumentParser
import ConvoStore
import Foundation

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stream dumps into the store (`-` is standard input).")
    @OptionGroup var store: StoreOption
    @Option(help: "Input format: native (JSON Lines) or webhook (WhatsApp Cloud API deliveries).") var format: String = "native"
    @Option(help: "Where rejected lines go (default <dump>.rejects).") var rejects: String?
    @Flag(help: "Stop at the first rejected line.") var strict = false
    @Option(help: "Stop after N rejected lines.") var maxRejects: Int?
    @Flag(help: "Ignore the checkpoint of an earlier run and import from the start.") var restart = false
    @Flag(help: "No progress line.") var quiet = false
    @Argument(help: "Dump files; - for standard input.") var files: [String]

    func run() throws {
        guard let format = DumpFormat(rawValue: self.format) else {
            printError("error: --format \(self.format): expected native or webhook")
            throw Exit.usage
        }
        guard !self.files.isEmpty else {
            printError("error: give at least one FILE (or -)")
            throw Exit.usage
        }
        let db = try self.store.open(create: true)
        var anyRejected = false
        let showProgress = !self.quiet && isatty(2) != 0
        for (index, file) in self.files.enumerated() {
            var options = ImportOptions()
            options.format = format
            options.rejectsPath = self.rejects
            options.appendRejects = self.rejects != nil && index > 0
            options.strict = self.strict
            options.maxRejects = self.maxRejects
            options.resume = !self.restart
            if showProgress { options.progress = { printProgress($0) } }
            let importer = DumpImporter(store: db, options: options) { line in
                if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
                printError(line)
            }
            let summary: ImportSummary
            do {
                summary = try importer.importFile(file)
            } catch {
                printError("error: \(file): \(error)")
                throw Exit.usage
            }
            if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            printError(summaryLine(file, summary))
            if summary.rejected > 0 { anyRejected = true }
            if summary.stoppedEarly { break }
        }
        if anyRejected { throw Exit.problem }
    }
}

func summaryLine(_ file: String, _ s: ImportSummary) -> String {
    var text = "\(file): read \(s.linesRead) lines: imported \(s.imported), duplicates skipped \(s.duplicates), "
        + "blank/header skipped \(s.skipped), rejected \(s.rejected)"
    if let path = s.rejectsPath, s.rejected > 0 { text += " (kept in \(path))" }
    if s.webhookPartsSkipped > 0 { text += "; \(s.webhookPartsSkipped) webhook parts skipped" }
    if s.resumedAfterLine > 0 { text += "; resumed after line \(s.resumedAfterLine)" }
    let rate = s.elapsed > 0 ? Double(s.linesRead) / s.elapsed : 0
    text += String(format: "; %.2fs, %.0f lines/s, %.1f MB/s", s.elapsed, rate, s.elapsed > 0 ? Double(s.bytesRead) / s.elapsed / 1e6 : 0)
    if s.stoppedEarly { text += "; stopped early" }
    return text
}

/// One progress line on stderr, rewritten in place: bytes and percent, lines/s, ETA, rejects.
func printProgress(_ p: ImportProgress) {
    let rate = p.elapsed > 0 ? Double(p.linesRead) / p.elapsed : 0
    var text = String(format: "%.1f MB", Double(p.bytesRead) / 1e6)
    if let total = p.totalBytes, total > 0 {
        let fraction = Double(p.bytesRead) / Double(total)
        let eta = fraction > 0 ? p.elapsed * (1 - fraction) / fraction : 0
        text += String(format: " of %.1f MB (%.0f%%), ETA %d:%02d", Double(total) / 1e6, fraction * 100, Int(eta) / 60, Int(eta) % 60)
    }
    text += String(format: ", %.0f lines/s, %d rejected", rate, p.rejected)
    FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
}

struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write the whole store as a native dump.")
    @OptionGroup var store: StoreOption
    @Option(help: "Output file (default standard output).") var output: String?

    func run() throws {
        let db = try self.store.open()
        let handle: FileHandle
        if let output = self.output {
            guard FileManager.default.createFile(atPath: output, contents: nil), let h = FileHandle(forWritingAtPath: output) else {
                printError("error: cannot write \(output)")
                throw Exit.usage
            }
            handle = h
        } else {
            handle = FileHandle.standardOutput
        }
        var buffer: [UInt8] = []
        try db.export { line in
            buffer.append(contentsOf: line.utf8)
            buffer.append(0x0A)
            if buffer.count > 1 << 20 {
                handle.write(Data(buffer))
                buffer.removeAll(keepingCapacity: true)
            }
        }
        handle.write(Data(buffer))
        if self.output != nil { try handle.close() }
    }
}

func printWaiting(_ list: [WaitingConversation], json asJSON: Bool) {
    var out = Output()
    if asJSON {
        for w in list {
            out.line(OutputJSON.waiting(w))
        }
    } else {
        for line in table(["BUSINESS", "CUSTOMER", "WAITING SINCE", "REPLY DUE AT"],
                          list.map { [$0.business, $0.customer, rfc3339($0.waitingSince), rfc3339($0.replyDueAt)] }) {
            out.line(line)
        }
    }
    out.flush()
}

struct Overdue: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Conversations overdue at a time (R2).")
    @OptionGroup var store: StoreOption
    @Option(name: .customLong("as-of"), help: "The time.") var asOf: Time
    @Option(help: "Only this business.") var business: String?
    @Option(help: "At most N conversations.") var limit: Int?
    @Flag(help: "JSON Lines output.") var json = false

    func run() throws {
        let db = try self.store.open()
        printWaiting(try db.overdue(asOf: self.asOf.millis, business: self.business, limit: self.limit ?? .max), json: self.json)
    }
}

struct NewlyOverdue: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "newly-overdue", abstract: "Conversations whose reply fell due in (T1, T2].")
    @OptionGroup var store: StoreOption
    @Option(help: "T1 (exclusive).") var after: Time
    @Option(help: "T2 (inclusive).") var until: Time
    @Flag(help: "JSON Lines output.") var json = false

    func run() throws {
        let db = try self.store.open()
        printWaiting(try db.newlyOverdue(after: self.after.millis, until: self.until.millis), json: self.json)
    }
}

struct Windows: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Windows closing in [T1, T2).")
    @OptionGroup var store: StoreOption
    @Option(help: "T1 (inclusive).") var from: Time
    @Option(help: "T2 (exclusive).") var to: Time
    @Option(help: "Only this business.") var business: String?
    @Flag(help: "JSON Lines output.") var json = false

    func run() throws {
        let db = try self.store.open()
        let list = try db.windowsClosing(from: self.from.millis, to: self.to.millis, business: self.business)
        var out = Output()
        if self.json {
            for w in list { out.line(OutputJSON.window(w)) }
        } else {
            for line in table(["BUSINESS", "CUSTOMER", "WINDOW EXPIRES AT"], list.map { [$0.business, $0.customer, rfc3339($0.windowExpiresAt)] }) {
                out.line(line)
            }
        }
        out.flush()
    }
}

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "One conversation's state.")
    @OptionGroup var store: StoreOption
    @Option(help: "The business.") var business: String
    @Option(help: "The customer.") var customer: String
    @Option(help: "Evaluate the window at this time (default now).") var at: Time?
    @Flag(help: "JSON output.") var json = false

    func run() throws {
        let db = try self.store.open()
        let at = self.at?.millis ?? nowMillis()
        guard let s = try db.conversation(business: self.business, customer: self.customer, at: at) else {
            printError("no conversation between business \(self.business) and customer \(self.customer)")
            throw Exit.problem
        }
        var out = Output()
        if self.json {
            out.line(OutputJSON.state(s))
        } else {
            let rows: [(String, String)] = [
                ("business", s.business), ("customer", s.customer), ("window expires at", rfc3339(s.windowExpiresAt)),
                ("waiting since", rfc3339(s.waitingSince)), ("reply due at", rfc3339(s.replyDueAt)),
                ("at", rfc3339(s.evaluatedAt)), ("window open", "\(s.windowOpen)"), ("can send free-form", "\(s.canSendFreeform)"),
                ("blocked", "\(s.blocked)"), ("restricted", "\(s.restricted)"), ("marketing opt-out", "\(s.marketingOptOut)"),
                ("messages in", "\(s.messagesIn)"), ("messages out", "\(s.messagesOut)"),
            ]
            for (k, v) in rows { out.line(k.padding(toLength: 20, withPad: " ", startingAt: 0) + v) }
        }
        out.flush()
    }
}

struct Billing: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Charges and violations of a business's outbound messages in [T1, T2).")
    @OptionGroup var store: StoreOption
    @Option(help: "The business.") var business: String
    @Option(help: "T1 (inclusive; default the beginning).") var from: Time?
    @Option(help: "T2 (exclusive; default no end).") var to: Time?
    @Flag(help: "JSON output.") var json = false

    func run() throws {
        let db = try self.store.open()
        let b = try db.billing(business: self.business, from: self.from?.millis, to: self.to?.millis)
        var out = Output()
        if self.json {
            out.line(OutputJSON.billing(b))
        } else {
            out.line("business \(b.business), from \(rfc3339(b.from)) to \(rfc3339(b.to))")
            for category in TemplateCategory.allCases { out.line("  charged \(category.name): \(b.charged[category] ?? 0)") }
            out.line("  free: \(b.free)")
            for violation in Violation.allCases { out.line("  violation \(violation.name): \(b.violations[violation] ?? 0)") }
            out.line("  amount (micros): \(b.amountMicros)")
        }
        out.flush()
    }
}

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Verify every index against the records; exit 1 with a report if not.")
    @OptionGroup var store: StoreOption

    func run() throws {
        let db = try self.store.open()
        let report: CheckReport
        do {
            report = try db.check()
        } catch {
            print("check failed: \(error)")
            throw Exit.problem
        }
        print("checked \(report.conversations) conversations, \(report.messages) messages, \(report.indexEntries) index entries")
        if report.isHealthy {
            print("ok")
        } else {
            for problem in report.problems { print("problem: \(problem)") }
            throw Exit.problem
        }
    }
}

struct Stats: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Counts, sizes and settings.")
    @OptionGroup var store: StoreOption
    @Flag(help: "JSON output.") var json = false

    func run() throws {
        let db = try self.store.open()
        let s = try db.statistics()
        let conversations = s.conversations
        let messages = s.messages
        if self.json {
            print(OutputJSON.statistics(s))
        } else {
            print("conversations \(conversations), messages \(messages)")
            print("used \(s.usedBytes) bytes of a \(s.mapSize)-byte map")
            for name in s.entries.keys.sorted() { print("  \(name): \(s.entries[name]!) entries, \(s.bytes[name] ?? 0) bytes") }
            print("settings: window \(s.settings.windowMillis) ms, reply SLA \(s.settings.replySLAMillis) ms, durability \(s.settings.durability.rawValue)")
        }
    }
}
