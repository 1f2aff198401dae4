// What recording and sending decide: the results of writes and R4's classification of an outbound message.

/// What recording one event did.
public enum RecordResult: Sendable, Hashable {
    /// Stored. For an outbound message, with its classification (R4); violations are kept and counted.
    case recorded
    /// The same message id was already recorded with identical content: nothing changed.
    case duplicate
    /// Not stored, and why.
    case rejected(ConvoStoreError)
}

/// What a live send did.
public enum SendResult: Sendable, Hashable {
    /// Allowed and recorded, with its classification and charge in micro-units.
    case sent(SendOutcome, amountMicros: Int64)
    /// Refused by a rule; nothing was recorded.
    case refused(Violation)
    /// The message id was already recorded with identical content.
    case duplicate
    /// Invalid input (a limit, a conflicting id); nothing was recorded.
    case rejected(ConvoStoreError)
}

/// Why an outbound message is not allowed (R4, R5).
public enum Violation: UInt8, Sendable, Hashable, NamedCase {
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
    /// A live template that would reach one customer more than the business's messaging limit (R8).
    case limitReached = 6

    /// The name used in outputs, such as `outside_window`.
    public var name: String {
        switch self {
        case .blocked: "blocked"
        case .outsideWindow: "outside_window"
        case .noOptIn: "no_opt_in"
        case .optedOut: "opted_out"
        case .restricted: "restricted"
        case .limitReached: "limit_reached"
        }
    }
}

/// What a charged message is charged as (R4, R7): a template's category, or `service` for a free-form
/// message inside the customer service window from the service-charge date.
public enum ChargeCategory: UInt8, Sendable, Hashable, NamedCase {
    /// A marketing template.
    case marketing = 0
    /// A utility template (outside the window; inside it too from the service-charge date). Tiered.
    case utility = 1
    /// An authentication template. Tiered.
    case authentication = 2
    /// A free-form message inside the window, from the service-charge date (R7).
    case service = 3

    /// `marketing`, `utility`, `authentication` or `service`.
    public var name: String {
        switch self {
        case .marketing: "marketing"
        case .utility: "utility"
        case .authentication: "authentication"
        case .service: "service"
        }
    }

    /// The charge category of a template category.
    public init(_ template: TemplateCategory) {
        switch template {
        case .marketing: self = .marketing
        case .utility: self = .utility
        case .authentication: self = .authentication
        }
    }

    /// Whether monthly volume tiers apply (R7: utility and authentication).
    public var isTiered: Bool { self == .utility || self == .authentication }
}

/// How an outbound message is classified: free, charged in a category, or a violation (never charged).
public enum SendOutcome: Sendable, Hashable {
    /// Allowed and free.
    case free
    /// Allowed and charged at the rate of its category (R7: by market, date and volume).
    case charged(ChargeCategory)
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
        case 0x10...0x13: self = .charged(ChargeCategory(rawValue: code & 0x0F)!)
        case 0x21...0x26: self = .violation(Violation(rawValue: code & 0x0F)!)
        default: return nil
        }
    }
}

