// The rules of docs/domain.md that do not touch storage: limits, control groups, the R4 decision.
// Storage-dependent parts (which inbound opened the window, which control is in effect) are
// looked up by the Recorder and handed here as a SendContext.

/// The limits of domain.md, checked before anything is written.
public enum Limits {
    /// Business and customer ids: 1 to 64 bytes of UTF-8.
    public static let partyIDBytes = 64
    /// Message ids: 1 to 128 bytes.
    public static let messageIDBytes = 128
    /// Message bodies: at most 64 KiB.
    public static let bodyBytes = 64 * 1024
    /// The `kind` field: at most 64 bytes.
    public static let kindBytes = 64
    /// Entry point source and id: at most 255 bytes each.
    public static let entryPointBytes = 255

    static func checkID(_ value: String, field: String, limit: Int) throws(ConvoStoreError) {
        let count = value.utf8.count
        guard count > 0 else { throw .invalidField(field: field, reason: "must not be empty") }
        guard count <= limit else { throw .limitExceeded(field: field, limit: limit, actual: count) }
    }

    static func checkTime(_ at: Int64, field: String = "at") throws(ConvoStoreError) {
        // Up to year 9999: keeps every derived time (at + windows) far from overflow.
        guard at >= 0, at <= 253_402_300_799_999 else {
            throw .invalidField(field: field, reason: "time \(at) is outside 1970-01-01 to 9999-12-31 (epoch milliseconds)")
        }
    }

    /// Throws the first limit `message` breaks.
    public static func validate(_ message: Message) throws(ConvoStoreError) {
        try checkID(message.id, field: "id", limit: messageIDBytes)
        try checkID(message.business, field: "business", limit: partyIDBytes)
        try checkID(message.customer, field: "customer", limit: partyIDBytes)
        try checkTime(message.at)
        try checkID(message.kind, field: "kind", limit: kindBytes)
        if message.isTemplate, message.category == nil {
            throw .invalidField(field: "category", reason: "required when kind is template (marketing, utility or authentication)")
        }
        if let body = message.body, body.count > bodyBytes {
            throw .limitExceeded(field: "body", limit: bodyBytes, actual: body.count)
        }
        if let entry = message.entryPoint {
            guard entry.source.utf8.count <= entryPointBytes, entry.id.utf8.count <= entryPointBytes else {
                throw .limitExceeded(field: "entry_point", limit: entryPointBytes, actual: max(entry.source.utf8.count, entry.id.utf8.count))
            }
        }
    }

    /// Throws the first limit `status` breaks.
    public static func validate(_ status: StatusUpdate) throws(ConvoStoreError) {
        try checkID(status.business, field: "business", limit: partyIDBytes)
        try checkID(status.messageID, field: "id", limit: messageIDBytes)
        try checkTime(status.at)
    }

    /// Throws the first limit or rule `control` breaks (a business may only block or unblock).
    public static func validate(_ control: Control) throws(ConvoStoreError) {
        try checkID(control.business, field: "business", limit: partyIDBytes)
        try checkID(control.customer, field: "customer", limit: partyIDBytes)
        try checkTime(control.at)
        if control.actor == .business, control.action != .block, control.action != .unblock {
            throw .invalidField(field: "action", reason: "a business may only block or unblock, not \(control.action.name)")
        }
    }
}

/// The groups of R5: within a group, the latest control at or before a time is in effect.
enum ControlGroup: UInt8, CaseIterable {
    case customerBlock = 0, restriction = 1, marketing = 2, consent = 3, businessBlock = 4

    init(actor: Actor, action: ControlAction) {
        if actor == .business { self = .businessBlock; return }
        switch action {
        case .block, .unblock, .reportSpam: self = .customerBlock
        case .restrict, .unrestrict: self = .restriction
        case .marketingOptOut, .marketingOptIn: self = .marketing
        case .optIn, .optOut: self = .consent
        }
    }

    /// The flag this group's latest action sets in a conversation's state, if it is an "on" action.
    static func flag(for action: ControlAction, group: ControlGroup) -> ConversationFlags {
        switch (group, action) {
        case (.customerBlock, .block), (.customerBlock, .reportSpam): return .customerBlocked
        case (.businessBlock, .block): return .businessBlocked
        case (.restriction, .restrict): return .restricted
        case (.marketing, .marketingOptOut): return .marketingOptedOut
        case (.consent, .optIn): return .optedIn
        default: return []
        }
    }
}

/// The state of a conversation's controls at one time, as bits.
struct ConversationFlags: OptionSet, Hashable {
    let rawValue: UInt8
    static let customerBlocked = ConversationFlags(rawValue: 1)
    static let businessBlocked = ConversationFlags(rawValue: 2)
    static let restricted = ConversationFlags(rawValue: 4)
    static let marketingOptedOut = ConversationFlags(rawValue: 8)
    static let optedIn = ConversationFlags(rawValue: 16)
    /// The conversation has at least one control recorded (so its control groups must be looked up).
    static let hasControls = ConversationFlags(rawValue: 128)

    var blocked: Bool { !self.isDisjoint(with: [.customerBlocked, .businessBlocked]) }
}

/// Why an outbound message is not allowed (R4, R5).
public enum Violation: UInt8, Sendable, Hashable, CaseIterable {
    /// Either side's block is in effect.
    case blocked = 1
    /// A non-template message outside the customer service window (the platform's re-engagement error).
    case outsideWindow = 2
    /// A template to a customer who never wrote and gave no opt-in.
    case noOptIn = 3
    /// A marketing template while the customer opted out of marketing.
    case optedOut = 4
    /// A marketing template while the customer restricted the business.
    case restricted = 5

    /// The name used in outputs, such as `outside_window`.
    public var name: String {
        switch self {
        case .blocked: "blocked"
        case .outsideWindow: "outside_window"
        case .noOptIn: "no_opt_in"
        case .optedOut: "opted_out"
        case .restricted: "restricted"
        }
    }
}

/// How an outbound message is classified: free, charged in a category, or a violation (never charged).
public enum SendOutcome: Sendable, Hashable {
    /// Allowed and free.
    case free
    /// Allowed and charged at the rate of its category.
    case charged(TemplateCategory)
    /// Refused live; kept and counted in an import of history.
    case violation(Violation)

    /// Whether the message may be sent.
    public var isAllowed: Bool {
        if case .violation = self { return false }
        return true
    }

    var code: UInt8 {
        switch self {
        case .free: 0
        case .charged(let category): 0x10 | category.rawValue
        case .violation(let violation): 0x20 | violation.rawValue
        }
    }

    init?(code: UInt8) {
        switch code {
        case 0: self = .free
        case 0x10...0x12: self = .charged(TemplateCategory(rawValue: code & 0x0F)!)
        case 0x21...0x25: self = .violation(Violation(rawValue: code & 0x0F)!)
        default: return nil
        }
    }
}

/// The facts about a conversation at time t that R4 needs.
struct SendContext: Equatable {
    /// The state of every control group at t.
    var flags: ConversationFlags
    /// Some inbound at t' with t' <= t < t' + window.
    var windowOpen: Bool
    /// Some inbound at or before t.
    var customerWrote: Bool
    /// t is inside the free entry point window (R3).
    var inFreeWindow: Bool
}

enum SendRules {
    /// R4, in its order: blocked; non-template needs the window; templates need consent, respect
    /// marketing opt-out and restriction, and are charged unless free.
    static func classify(isTemplate: Bool, category: TemplateCategory?, context c: SendContext) -> SendOutcome {
        if c.flags.blocked { return .violation(.blocked) }
        guard isTemplate, let category else {
            return c.windowOpen ? .free : .violation(.outsideWindow)
        }
        if !c.customerWrote && !c.flags.contains(.optedIn) { return .violation(.noOptIn) }
        if category == .marketing {
            if c.flags.contains(.marketingOptedOut) { return .violation(.optedOut) }
            if c.flags.contains(.restricted) { return .violation(.restricted) }
        }
        if c.inFreeWindow { return .free }
        switch category {
        case .marketing, .authentication: return .charged(category)
        case .utility: return c.windowOpen ? .free : .charged(.utility)
        }
    }
}
