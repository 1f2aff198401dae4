import ArgumentParser
import ConvoStore

struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "One conversation's state.")
    @OptionGroup var store: StoreOption
    @Option(help: "The business.") var business: String
    @Option(help: "The customer.") var customer: String
    @Option(help: "Evaluate the window at this time (default now).", transform: Time.parse) var at: Time?
    @Flag(help: "JSON output.") var json = false

    func run() throws {
        let db = try self.store.open()
        let at = self.at?.millis ?? nowMillis()
        guard let s = try db.conversation(business: self.business, customer: self.customer, at: at) else {
            printError("error: no conversation between business \(Display.quoted(self.business)) and customer \(Display.quoted(self.customer))")
            throw Exit.problem
        }
        var out = Output()
        if self.json {
            try out.line(OutputJSON.state(s))
        } else {
            let rows: [(String, String)] = [
                ("business", Display.safe(s.business)), ("customer", Display.safe(s.customer)), ("window expires at", rfc3339(s.windowExpiresAt)),
                ("waiting since", rfc3339(s.waitingSince)), ("reply due at", rfc3339(s.replyDueAt)),
                ("at", rfc3339(s.evaluatedAt)), ("window open", "\(s.windowOpen)"), ("can send free-form", "\(s.canSendFreeform)"),
                ("blocked", "\(s.blocked)"), ("restricted", "\(s.restricted)"), ("marketing opt-out", "\(s.marketingOptOut)"),
                ("messages in", "\(s.messagesIn)"), ("messages out", "\(s.messagesOut)"),
            ]
            for (k, v) in rows { try out.line(k.padding(toLength: 20, withPad: " ", startingAt: 0) + v) }
        }
        try out.flush()
    }
}
