import ArgumentParser
import ConvoStore

struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Verify every index against the records; exit 1 with a report if not.")
    @OptionGroup var store: StoreOption

    func run() throws {
        try self.store.checkReadable()
        let damage = try ConvoStore.damagedPages(at: self.store.db)
        guard damage.isEmpty else {
            var out = Output()
            for problem in damage { try out.line("problem: damaged page: \(problem)") }
            try out.flush()
            throw Exit.problem
        }
        let db = try self.store.open()
        let report: CheckReport
        do {
            report = try db.check()
        } catch {
            printError("error: check could not finish: \(error)")
            throw Exit.problem
        }
        var out = Output()
        try out.line("checked \(report.conversations) conversations, \(report.messages) messages, \(report.indexEntries) index entries")
        if report.isHealthy {
            try out.line("ok")
            try out.flush()
        } else {
            for problem in report.problems { try out.line("problem: \(problem)") }
            try out.flush()
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
        var out = Output()
        if self.json {
            try out.line(OutputJSON.statistics(s))
        } else {
            try out.line("conversations \(s.conversations), messages \(s.messages)")
            try out.line("used \(s.usedBytes) bytes of a \(s.mapSize)-byte map, \(s.freeBytes) of them free (a free-page list of \(s.freeListBytes) bytes)")
            for name in s.entries.keys.sorted() { try out.line("  \(name): \(s.entries[name]!) entries, \(s.bytes[name] ?? 0) bytes") }
            try out.line("settings: window \(s.settings.windowMillis) ms, reply SLA \(s.settings.replySLAMillis) ms, durability \(s.settings.durability.rawValue), retention \(s.retentionMillis.map { "\($0) ms" } ?? "off")")
        }
        try out.flush()
    }
}
