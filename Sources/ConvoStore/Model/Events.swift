/// A closed set of cases, each with the one name dumps and outputs use for it (`report_spam`,
/// `outside_window`); ``init(name:)`` reads a name back. One table per type: its `name` switch.
public protocol NamedCase: CaseIterable, Sendable {
    /// The case's name in dumps and outputs.
    var name: String { get }
}

extension NamedCase {
    /// The case named `name`, or `nil`.
    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }

    /// Every case's name, in declaration order, for messages such as "expected in or out".
    public static var names: [String] { Self.allCases.map(\.name) }
}

/// Who sent a message: the customer (`in`) or the business (`out`).
public enum Direction: UInt8, Sendable, Hashable, NamedCase {
    /// Customer to business.
    case inbound = 0
    /// Business to customer.
    case outbound = 1

    /// `in` or `out`, as in dumps.
    public var name: String { self == .inbound ? "in" : "out" }
}

/// The category of a template message, which decides its charge (R4).
public enum TemplateCategory: UInt8, Sendable, Hashable, NamedCase {
    /// Promotions; always charged outside a free entry point window.
    case marketing = 0
    /// Transactional updates; free inside the customer service window.
    case utility = 1
    /// One-time passwords; always charged outside a free entry point window.
    case authentication = 2

    /// `marketing`, `utility` or `authentication`.
    public var name: String {
        switch self {
        case .marketing: "marketing"
        case .utility: "utility"
        case .authentication: "authentication"
        }
    }
}

/// A click-to-chat ad or page button that started a conversation (R3). Opaque to the rules.
public struct EntryPoint: Sendable, Hashable {
    /// Where it came from, such as `ad` or `post`.
    public var source: String
    /// The ad's or button's id.
    public var id: String

    /// Makes an entry point.
    public init(source: String, id: String) {
        self.source = source
        self.id = id
    }
}

/// One message between a business and a customer.
public struct Message: Sendable, Hashable {
    /// The message id, unique per business (1 to 128 bytes).
    public var id: String
    /// The business (1 to 64 bytes).
    public var business: String
    /// The customer (1 to 64 bytes).
    public var customer: String
    /// Who sent it.
    public var direction: Direction
    /// When, in milliseconds since the Unix epoch.
    public var at: Int64
    /// `text`, `template`, `media`, `interactive`, ...; only `template` matters to the rules.
    public var kind: String
    /// For templates, their category.
    public var category: TemplateCategory?
    /// The body: opaque bytes (possibly ciphertext), at most 64 KiB. Never parsed, indexed or logged.
    public var body: [UInt8]?
    /// Whether the body was given as text (`body`) rather than bytes (`body_b64`), so exports keep its form.
    public var bodyIsText: Bool
    /// The entry point an inbound message came through (R3).
    public var entryPoint: EntryPoint?

    /// Makes a message.
    public init(
        id: String, business: String, customer: String, direction: Direction, at: Int64,
        kind: String = "text", category: TemplateCategory? = nil, body: [UInt8]? = nil,
        bodyIsText: Bool = true, entryPoint: EntryPoint? = nil
    ) {
        self.id = id
        self.business = business
        self.customer = customer
        self.direction = direction
        self.at = at
        self.kind = kind
        self.category = category
        self.body = body
        self.bodyIsText = bodyIsText
        self.entryPoint = entryPoint
    }

    /// Whether the message is a template.
    public var isTemplate: Bool { self.kind == "template" }
}

/// The delivery status of an outbound message (R6). Statuses only move forward; `failed` is final.
public enum MessageStatus: UInt8, Sendable, Hashable, NamedCase, Comparable {
    /// Accepted by the platform.
    case sent = 1
    /// Delivered to the customer's device.
    case delivered = 2
    /// Read by the customer.
    case read = 3
    /// Could not be delivered; final.
    case failed = 4

    /// `sent`, `delivered`, `read` or `failed`.
    public var name: String {
        switch self {
        case .sent: "sent"
        case .delivered: "delivered"
        case .read: "read"
        case .failed: "failed"
        }
    }

    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
}

/// What the platform's own pricing said of an outbound message, as its statuses carry it
/// (`statuses[].pricing` of a webhook): kept with the message, so that billing can show where the
/// store's price and the platform's disagree.
public struct PlatformPricing: Sendable, Hashable {
    /// `PMP` (per-message pricing) or the older `CBP` (conversation-based).
    public var model: String
    /// `marketing`, `utility`, `authentication`, `service`, `marketing_lite`, ... as the platform names it.
    public var category: String
    /// `regular`, `free_customer_service`, `free_entry_point`, ...; nil when not given.
    public var type: String?
    /// Whether the platform charges the message; nil when not given.
    public var billable: Bool?

    /// Makes a pricing record.
    public init(model: String, category: String, type: String? = nil, billable: Bool? = nil) {
        self.model = model
        self.category = category
        self.type = type
        self.billable = billable
    }
}

/// A status report for a message, identified by business and message id.
public struct StatusUpdate: Sendable, Hashable {
    /// The business that sent the message.
    public var business: String
    /// The message id.
    public var messageID: String
    /// The new status.
    public var status: MessageStatus
    /// When, in epoch milliseconds.
    public var at: Int64
    /// The platform's pricing of the message, when the status carried it.
    public var pricing: PlatformPricing?

    /// Makes a status update.
    public init(business: String, messageID: String, status: MessageStatus, at: Int64, pricing: PlatformPricing? = nil) {
        self.business = business
        self.messageID = messageID
        self.status = status
        self.at = at
        self.pricing = pricing
    }
}

/// Who issued a control.
public enum Actor: UInt8, Sendable, Hashable, NamedCase {
    /// The customer.
    case customer = 0
    /// The business.
    case business = 1

    /// `customer` or `business`.
    public var name: String { self == .customer ? "customer" : "business" }
}

/// A customer or business control (R5).
public enum ControlAction: UInt8, Sendable, Hashable, NamedCase {
    /// Blocks the other side.
    case block = 0
    /// Lifts a block (or a spam report).
    case unblock = 1
    /// The customer reports spam: blocks, and counts against the business.
    case reportSpam = 2
    /// The customer receives only non-marketing messages.
    case restrict = 3
    /// Lifts a restriction.
    case unrestrict = 4
    /// The customer opts out of marketing.
    case marketingOptOut = 5
    /// The customer opts back in to marketing.
    case marketingOptIn = 6
    /// The customer consents to business-initiated messages.
    case optIn = 7
    /// The customer withdraws consent.
    case optOut = 8

    /// The name used in dumps, such as `report_spam`.
    public var name: String {
        switch self {
        case .block: "block"
        case .unblock: "unblock"
        case .reportSpam: "report_spam"
        case .restrict: "restrict"
        case .unrestrict: "unrestrict"
        case .marketingOptOut: "marketing_opt_out"
        case .marketingOptIn: "marketing_opt_in"
        case .optIn: "opt_in"
        case .optOut: "opt_out"
        }
    }
}

/// A control recorded at a time by a customer or a business.
public struct Control: Sendable, Hashable {
    /// The business.
    public var business: String
    /// The customer.
    public var customer: String
    /// Who issued it; a business may only `block` or `unblock`.
    public var actor: Actor
    /// What it does.
    public var action: ControlAction
    /// When, in epoch milliseconds.
    public var at: Int64

    /// Makes a control.
    public init(business: String, customer: String, actor: Actor, action: ControlAction, at: Int64) {
        self.business = business
        self.customer = customer
        self.actor = actor
        self.action = action
        self.at = at
    }
}

/// That a business-scoped user id (`US.13491208655302741918`) and a phone number are one customer
/// of a business: events naming the user id are recorded in the phone number's conversation.
public struct IdentityLink: Sendable, Hashable {
    /// The business the user id is scoped to.
    public var business: String
    /// The business-scoped user id.
    public var userID: String
    /// The customer's phone number.
    public var phone: String

    /// Makes a link.
    public init(business: String, userID: String, phone: String) {
        self.business = business
        self.userID = userID
        self.phone = phone
    }
}

/// Anything a store records.
public enum Event: Sendable, Hashable {
    /// A message, inbound or outbound.
    case message(Message)
    /// A status report.
    case status(StatusUpdate)
    /// A control.
    case control(Control)
    /// A user id known to be a phone number's customer.
    case link(IdentityLink)
}
