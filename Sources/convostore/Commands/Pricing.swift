import ArgumentParser
import ConvoStore
import Foundation

struct Rates: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The rate card (R7): load a CSV, show the versions in force.", subcommands: [RatesImport.self, RatesShow.self])
}

struct RatesImport: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "import", abstract: "Load a rate card CSV; every stored message is priced with it.")
    @OptionGroup var store: StoreOption
    @Argument(help: "The CSV file (docs/contract.md, \"Rate card\").") var file: String

    func run() throws {
        let text: String
        do {
            text = try String(contentsOfFile: self.file, encoding: .utf8)
        } catch {
            printError("error: cannot read \(Display.safe(self.file)): \(error.localizedDescription)")
            throw Exit.usage
        }
        let db = try self.store.open(create: true)
        do {
            let versions = try db.importRates(csv: text, name: self.file)
            printError("\(Display.safe(self.file)): \(versions.count) versions, \(versions.reduce(0) { $0 + $1.rows.count }) rows loaded")
        } catch let error as RateCardError {
            for problem in error.problems { printError(problem) }
            printError("error: \(Display.safe(self.file)): the card was not loaded; the card in force is unchanged")
            throw Exit.problem
        }
    }
}

struct RatesShow: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "The rate card's versions, in time order.")
    @OptionGroup var store: StoreOption
    @Flag(help: "JSON Lines output (one version per line).") var json = false

    func run() throws {
        let db = try self.store.open()
        var out = Output()
        let versions = try db.rateCard()
        if self.json {
            for version in versions { try out.line(OutputJSON.rateCardVersion(version)) }
        } else {
            try out.line("effective_from,market,category,tier_from,rate_micros")
            for version in versions {
                for row in version.rows {
                    try out.line("\(Timestamp.format(version.effectiveFrom)),\(row.market),\(row.category.name),\(row.tierFrom),\(row.rateMicros)")
                }
            }
            if versions.isEmpty { printError("no rate card loaded: the store's default rates apply (marketing 25000, utility 4000, authentication 4000, service 4000)") }
        }
        try out.flush()
    }
}

struct Limits: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "A business's messaging limit and the customers it reached in the last 24 hours (R8).")
    @OptionGroup var store: StoreOption
    @Option(help: "The business.") var business: String
    @Option(help: "The time reached_24h is counted at (default now).", transform: Time.parse) var at: Time?
    @Option(help: "Set the limit: a positive number of customers, or unlimited.") var set: String?
    @Flag(help: "JSON output.") var json = false

    func run() throws {
        var newLimit: Int64??
        if let set = self.set {
            if set == "unlimited" {
                newLimit = .some(nil)
            } else if let n = Int64(set), n > 0 {
                newLimit = .some(n)
            } else {
                printError("error: --set \(Display.quoted(set)): expected a positive number of customers or unlimited")
                throw Exit.usage
            }
        }
        let db = try self.store.open(create: newLimit != nil)
        if let newLimit { try db.setMessagingLimit(business: self.business, limit: newLimit) }
        let status = try db.messagingLimit(business: self.business, at: self.at?.millis ?? nowMillis())
        var out = Output()
        if self.json {
            try out.line(OutputJSON.limits(status))
        } else {
            try out.line("business \(Display.safe(status.business)) at \(rfc3339(status.at)): limit \(status.limit.map(String.init) ?? "unlimited"), reached in 24 h \(status.reached24h)")
        }
        try out.flush()
    }
}
