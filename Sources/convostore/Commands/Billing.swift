import ArgumentParser
import ConvoStore

struct Billing: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Charges and violations of a business's outbound messages in [T1, T2).")
    @OptionGroup var store: StoreOption
    @Option(help: "The business.") var business: String
    @Option(help: "T1 (inclusive; default the beginning).", transform: Time.parse) var from: Time?
    @Option(help: "T2 (exclusive; default no end).", transform: Time.parse) var to: Time?
    @Flag(help: "JSON output.") var json = false

    func run() throws {
        let db = try self.store.open()
        let b = try db.billing(business: self.business, from: self.from?.millis, to: self.to?.millis)
        var out = Output()
        if self.json {
            try out.line(OutputJSON.billing(b))
        } else {
            try out.line("business \(Display.safe(b.business)), from \(rfc3339(b.from)) to \(rfc3339(b.to))")
            for category in ChargeCategory.allCases { try out.line("  charged \(category.name): \(b.charged[category] ?? 0)") }
            try out.line("  free: \(b.free)")
            for violation in Violation.allCases { try out.line("  violation \(violation.name): \(b.violations[violation] ?? 0)") }
            try out.line("  failed: \(b.failed)")
            try out.line("  amount (micros): \(b.amountMicros)")
            for name in b.markets.keys.sorted() {
                let market = b.markets[name]!
                let counts = ChargeCategory.allCases.map { "\($0.name) \(market.charged[$0] ?? 0)" }.joined(separator: ", ")
                try out.line("  market \(Display.safe(name)): \(counts); amount \(market.amountMicros)")
            }
            let platform = ChargeCategory.allCases.map { "\($0.name) \(b.platform.charged[$0] ?? 0)" }.joined(separator: ", ")
            try out.line("  platform: \(platform), free \(b.platform.free), unpriced \(b.platform.unpriced)")
        }
        try out.flush()
    }
}
