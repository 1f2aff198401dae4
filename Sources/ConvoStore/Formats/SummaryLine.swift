// The `summary` lines of a native dump (docs/lifecycle.md, "Export and import after a purge"): what
// a purge kept of history before the horizon. Three shapes, one type:
//   {"type":"summary","horizon":H}                                   the store's horizon
//   {"type":"summary","business":B,"customer":C,"horizon":H,...}     a conversation's purged part
//   {"type":"summary","business":B,"horizon":H,"charges":[...]}      charges kept without their message

/// One `summary` line.
package enum SummaryLine: Sendable, Hashable {
    /// The store's horizon (a purge of every business).
    case store(horizon: Int64)
    /// A conversation's purged history.
    case conversation(business: String, customer: String, horizon: Int64, purged: PurgedSummary)
    /// Charges of a business kept without their message (purged or erased).
    case charges(business: String, horizon: Int64?, charges: [KeptCharge])

    /// The most charges one line holds (lines stay far below the 1 MiB limit).
    static let chargesPerLine = 1000
}

/// What a conversation keeps of its purged history, as a dump line carries it.
package struct PurgedSummary: Sendable, Hashable {
    var messagesIn: Int64 = 0
    var messagesOut: Int64 = 0
    var firstIn: Int64?
    var lastIn: Int64?
    var lastOut: Int64?
    var waitingSince: Int64?
    var entryPointAt: Int64?
    var freeWindowStart: Int64?
    var lastReach: Int64?
    var controls: [Control] = []
}

/// Kept charges of one millisecond, class, market and platform class.
package struct KeptCharge: Sendable, Hashable {
    var at: Int64
    var billingClass: String
    var market: String
    var platform: String
    var count: Int64
}

extension SummaryLine {
    init(_ v: JSONValue) throws(DumpLineError) {
        let horizon = try Self.optionalTime(v, "horizon")
        guard let business = try v.optionalString("business", at: nil) else {
            guard let horizon else { throw DumpLineError("horizon: required in a summary line without a business") }
            try Self.checkTime(horizon, "horizon")
            self = .store(horizon: horizon)
            return
        }
        try Self.checkID(business, "business")
        if let customer = try v.optionalString("customer", at: nil) {
            try Self.checkID(customer, "customer")
            guard let horizon else { throw DumpLineError("horizon: required in a conversation's summary") }
            try Self.checkTime(horizon, "horizon")
            var p = PurgedSummary()
            p.messagesIn = try Self.count(v, "messages_in")
            p.messagesOut = try Self.count(v, "messages_out")
            p.firstIn = try Self.optionalTime(v, "first_in")
            p.lastIn = try Self.optionalTime(v, "last_in")
            p.lastOut = try Self.optionalTime(v, "last_out")
            p.waitingSince = try Self.optionalTime(v, "waiting_since")
            p.entryPointAt = try Self.optionalTime(v, "entry_point_at")
            p.freeWindowStart = try Self.optionalTime(v, "free_window_start")
            p.lastReach = try Self.optionalTime(v, "last_reach")
            for t in [p.firstIn, p.lastIn, p.lastOut, p.waitingSince, p.entryPointAt, p.freeWindowStart, p.lastReach].compactMap({ $0 }) where t >= horizon {
                throw DumpLineError("summary: a purged time \(t) is not before its horizon \(horizon)")
            }
            for (i, item) in try v.optionalArray("controls", at: nil).enumerated() {
                let path = "controls[\(i)]"
                try item.requireObject(at: path)
                let by = try item.string("by", at: path)
                guard let actor = Actor(name: by) else { throw DumpLineError("\(path).by: \(Display.quoted(by)) is not customer or business") }
                let name = try item.string("action", at: path)
                guard let action = ControlAction(name: name) else { throw DumpLineError("\(path).action: unknown action \(Display.quoted(name))") }
                guard let at = try Self.optionalTime(item, "at"), at < horizon else { throw DumpLineError("\(path).at: required, before the horizon") }
                let control = Control(business: business, customer: customer, actor: actor, action: action, at: at)
                do { try Limits.validate(control) } catch { throw DumpLineError("\(path): \(error.description)") }
                p.controls.append(control)
            }
            self = .conversation(business: business, customer: customer, horizon: horizon, purged: p)
            return
        }
        if let horizon { try Self.checkTime(horizon, "horizon") }
        var charges: [KeptCharge] = []
        for (i, item) in try v.array("charges", at: nil).enumerated() {
            let path = "charges[\(i)]"
            guard case .array(let fields) = item, fields.count == 5,
                  case .integer(let at) = fields[0], case .string(let billingClass) = fields[1], case .string(let market) = fields[2],
                  case .string(let platform) = fields[3], case .integer(let count) = fields[4]
            else { throw DumpLineError("\(path): must be [at, class, market, platform, count]") }
            guard Limits.times.contains(at) else { throw DumpLineError("\(path): time \(at) out of range") }
            guard BillingClass(name: billingClass) != nil else { throw DumpLineError("\(path): unknown class \(Display.quoted(billingClass))") }
            guard Markets.isMarket(market) else { throw DumpLineError("\(path): unknown market \(Display.quoted(market))") }
            guard PlatformClass(name: platform) != nil else { throw DumpLineError("\(path): unknown platform class \(Display.quoted(platform))") }
            guard count >= 1 && count <= 1_000_000_000 else { throw DumpLineError("\(path): count \(count) out of range") }
            charges.append(KeptCharge(at: at, billingClass: billingClass, market: market, platform: platform, count: count))
        }
        self = .charges(business: business, horizon: horizon, charges: charges)
    }

    private static func optionalTime(_ v: JSONValue, _ field: String) throws(DumpLineError) -> Int64? {
        switch v[field] {
        case nil, .null?: return nil
        case .integer(let t)?:
            guard Limits.times.contains(t) else { throw DumpLineError("\(field): time \(t) out of range") }
            return t
        case let other?: throw DumpLineError("\(field): must be integer epoch milliseconds or null, got \(other.typeName)")
        }
    }

    private static func count(_ v: JSONValue, _ field: String) throws(DumpLineError) -> Int64 {
        switch v[field] {
        case nil: return 0
        case .integer(let n)? where n >= 0 && n <= UInt32.max: return n
        case let other?: throw DumpLineError("\(field): must be a count, got \(other.typeName)")
        }
    }

    private static func checkTime(_ t: Int64, _ field: String) throws(DumpLineError) {
        do { try Limits.checkTime(t, field: field) } catch { throw DumpLineError(error.description) }
    }

    private static func checkID(_ id: String, _ field: String) throws(DumpLineError) {
        do { try Limits.checkID(id, field: field, limit: Limits.partyIDBytes) } catch { throw DumpLineError(error.description) }
    }

    /// The line (without newline).
    func line() -> String {
        var w = JSONWriter()
        w.beginObject()
        w.field("type", "summary")
        switch self {
        case .store(let horizon):
            w.field("horizon", horizon)
        case .conversation(let business, let customer, let horizon, let p):
            w.field("business", business)
            w.field("customer", customer)
            w.field("horizon", horizon)
            w.field("messages_in", p.messagesIn)
            w.field("messages_out", p.messagesOut)
            w.field("first_in", p.firstIn)
            w.field("last_in", p.lastIn)
            w.field("last_out", p.lastOut)
            w.field("waiting_since", p.waitingSince)
            w.field("entry_point_at", p.entryPointAt)
            w.field("free_window_start", p.freeWindowStart)
            w.field("last_reach", p.lastReach)
            w.arrayField("controls", p.controls) { o, control in
                o.field("by", control.actor.name)
                o.field("action", control.action.name)
                o.field("at", control.at)
            }
        case .charges(let business, let horizon, let charges):
            w.field("business", business)
            if let horizon { w.field("horizon", horizon) }
            w.rawField("charges", "[" + charges.map { c in
                "[\(c.at),\(JSONWriter.quoted(c.billingClass)),\(JSONWriter.quoted(c.market)),\(JSONWriter.quoted(c.platform)),\(c.count)]"
            }.joined(separator: ",") + "]")
        }
        w.endObject()
        return w.string
    }
}

extension PurgedSummary {
    /// The summary a conversation's record keeps, as a line carries it.
    init(_ purged: PurgedHistory, business: String, customer: String) {
        self.messagesIn = Int64(purged.messagesIn)
        self.messagesOut = Int64(purged.messagesOut)
        self.firstIn = purged.firstIn
        self.lastIn = purged.lastIn
        self.lastOut = purged.lastOut
        self.waitingSince = purged.waitingSince
        self.entryPointAt = purged.freeEntryAt
        self.freeWindowStart = purged.freeWindowStart
        self.lastReach = purged.lastReach
        self.controls = purged.recordedControls.map { control in
            Control(business: business, customer: customer, actor: control.group == .businessBlock ? .business : .customer,
                    action: control.action, at: control.at)
        }
    }

    /// The record's summary.
    var history: PurgedHistory {
        var h = PurgedHistory()
        h.messagesIn = UInt32(self.messagesIn)
        h.messagesOut = UInt32(self.messagesOut)
        h.firstIn = self.firstIn
        h.lastIn = self.lastIn
        h.lastOut = self.lastOut
        h.waitingSince = self.waitingSince
        h.freeEntryAt = self.entryPointAt
        h.freeWindowStart = self.freeWindowStart
        h.lastReach = self.lastReach
        for control in self.controls {
            let group = ControlGroup(actor: control.actor, action: control.action)
            if h.controls[group].map({ $0.at <= control.at }) ?? true { h.controls[group] = (control.action, control.at) }
        }
        return h
    }
}
