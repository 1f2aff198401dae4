import ArgumentParser
import ConvoStore
import Foundation

struct Purge: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove history before a time (R9); events before it are rejected from then on.")
    @OptionGroup var store: StoreOption
    @Option(help: "The horizon: messages and controls before it are removed.", transform: Time.parse) var before: Time
    @Option(help: "Only this business.") var business: String?

    func run() throws {
        let db = try self.store.open()
        let s = try db.purge(before: self.before.millis, business: self.business)
        let whose = self.business.map { "business \(Display.safe($0))" } ?? "the store"
        if s.alreadyPurged && s.messages == 0 && s.controls == 0 {
            printError("nothing to purge: \(whose) already has the horizon \(rfc3339(s.horizon)), not before \(rfc3339(self.before.millis))")
            return
        }
        printError("purged before \(rfc3339(s.horizon)) (\(whose)): \(s.messages) messages, \(s.controls) controls "
            + "in \(s.conversations) conversations; their charges are kept; events before \(rfc3339(s.horizon)) are rejected from now on")
    }
}

struct Retention: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "How long the store keeps history (R9); with --set, change it. `serve` purges continuously what falls behind now minus it.")
    @OptionGroup var store: StoreOption
    @Option(help: "Keep this long (30d, 720h, ...; at least 1 minute), or off to keep everything.") var set: String?
    @Flag(help: "JSON output.") var json = false

    func run() throws {
        var change: Int64??
        if let set = self.set {
            do {
                change = .some(set == "off" ? nil : try TimeSpan.parse(set))
            } catch let error as ValidationError {
                printError("error: --set \(error.message)")
                throw Exit.usage
            }
        }
        let db = try self.store.open(create: change != nil)
        if let change { try db.setRetention(change) }
        let retention = try db.retention()
        var out = Output()
        if self.json {
            try out.line(#"{"retention_ms":\#(retention.map(String.init) ?? "null")}"#)
        } else if let retention {
            try out.line("retention \(retention) ms (\(Double(retention) / 86_400_000) days): a server on this store purges continuously what falls behind now minus it")
        } else {
            try out.line("retention off: the store keeps everything")
        }
        try out.flush()
    }
}

struct Erase: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Remove every trace of a customer but its charges (R9). `compact` then removes the freed bytes.")
    @OptionGroup var store: StoreOption
    @Option(help: "The customer: a phone number or a user id.") var customer: String
    @Option(help: "Only the conversation with this business.") var business: String?

    func run() throws {
        let db = try self.store.open()
        do {
            let s = try db.erase(customer: self.customer, business: self.business)
            printError("erased \(Display.quoted(self.customer)): \(s.conversations) conversations, \(s.messages) messages, \(s.controls) controls, \(s.links) user-id links; "
                + "charges kept without the customer. Run `convostore compact` (with the store closed elsewhere) to overwrite the freed pages")
        } catch ConvoStoreError.unknownCustomer(let customer) {
            printError("error: no conversation or link names the customer \(Display.quoted(customer))\(self.business.map { " with business \(Display.quoted($0))" } ?? "")")
            throw Exit.problem
        }
    }
}

struct Backup: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A consistent copy of the store while writers run; the copy opens as a store as it is.")
    @OptionGroup var store: StoreOption
    @Option(help: "The copy's directory (new or empty).") var to: String
    @Flag(help: "Leave out free pages.") var compact = false

    func run() throws {
        let db = try self.store.open()
        let s = try db.backup(to: self.to, compact: self.compact)
        printError("backed up \(Display.safe(self.store.db)) to \(Display.safe(self.to)): \(s.bytesAfter) bytes\(self.compact ? " (compacted from \(s.bytesBefore))" : "")")
    }
}

struct Compact: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Rewrite the store without free pages (no other process may have it open).")
    @OptionGroup var store: StoreOption

    func run() throws {
        try self.store.checkReadable()
        do {
            let s = try ConvoStore.compact(at: self.store.db)
            printError("compacted \(Display.safe(self.store.db)): \(s.bytesBefore) bytes, now \(s.bytesAfter)")
        } catch ConvoStoreError.incompatibleStore(let reason) {
            printError("error: \(reason)")
            throw Exit.usage
        }
    }
}

struct Upgrade: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Convert a store of an earlier format (2 to 4) to this release's, keeping every answer.")
    @OptionGroup var store: StoreOption

    func run() throws {
        try self.store.checkReadable()
        do {
            let s = try ConvoStore.upgrade(at: self.store.db)
            if s.alreadyDone {
                printError("\(Display.safe(self.store.db)) already has this release's format")
            } else {
                let what = s.messageIDs > 0 ? "\(s.messageIDs) message ids indexed again" : "\(s.events) events recorded again"
                printError("upgraded \(Display.safe(self.store.db)): \(what); \(s.bytesBefore) bytes, now \(s.bytesAfter)")
            }
        } catch ConvoStoreError.incompatibleStore(let reason) {
            printError("error: \(reason)")
            throw Exit.usage
        }
    }
}
