// The limits of docs/domain.md (ids, bodies, times), checked once per event before anything is written.

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

    /// The times the store accepts, in epoch milliseconds: 1970-01-01 to 9999-12-31. Bounded so that
    /// every derived time (a time plus a window or an SLA of up to 366 days) stays far from overflow.
    public static let times: ClosedRange<Int64> = 0...253_402_300_799_999

    /// The times a query may name, in epoch milliseconds: every stored time and every time derived
    /// from one (a reply due or a window closing up to 366 days after the last accepted time).
    public static let queryTimes: ClosedRange<Int64> = 0...(times.upperBound + 400 * 86_400_000)

    /// `t` moved into ``queryTimes``: a query before 1970 or after 9999 asks about no stored event
    /// beyond those at the range's ends, so it gets the same answer as at the end.
    public static func clampQuery(_ t: Int64) -> Int64 {
        min(max(t, queryTimes.lowerBound), queryTimes.upperBound)
    }

    /// Throws unless `at` is in ``times``; the one check of a time, for events, queries and the command line.
    public static func checkTime(_ at: Int64, field: String = "at") throws(ConvoStoreError) {
        guard Self.times.contains(at) else {
            throw .invalidField(field: field, reason: "\(at) is outside 1970-01-01 to 9999-12-31 (epoch milliseconds)")
        }
    }

    /// Throws the first limit `event` breaks.
    public static func validate(_ event: Event) throws(ConvoStoreError) {
        switch event {
        case .message(let message): try validate(message)
        case .status(let status): try validate(status)
        case .control(let control): try validate(control)
        case .link(let link): try validate(link)
        }
    }

    /// Throws the first limit `link` breaks: the business and both customer ids, and a user id of
    /// the form `CC.digits`.
    public static func validate(_ link: IdentityLink) throws(ConvoStoreError) {
        try checkID(link.business, field: "business", limit: partyIDBytes)
        try checkID(link.userID, field: "user_id", limit: partyIDBytes)
        try checkID(link.phone, field: "customer", limit: partyIDBytes)
        guard CustomerID.isUserID(link.userID) else {
            throw .invalidField(field: "user_id", reason: "\(Display.quoted(link.userID)) is not a business-scoped user id (CC.digits)")
        }
        guard !CustomerID.isUserID(link.phone) else {
            throw .invalidField(field: "customer", reason: "a user id is linked to a phone number, not to another user id")
        }
    }

    /// The first limit `event` breaks, or nil: the recorder's one validate-or-reject step.
    static func violation(of event: Event) -> ConvoStoreError? {
        do throws(ConvoStoreError) {
            try validate(event)
            return nil
        } catch {
            return error
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
        if let pricing = status.pricing {
            for (field, value) in [("pricing.pricing_model", pricing.model), ("pricing.category", pricing.category), ("pricing.type", pricing.type ?? "")]
            where value.utf8.count > pricingFieldBytes {
                throw .limitExceeded(field: field, limit: pricingFieldBytes, actual: value.utf8.count)
            }
        }
    }

    /// The platform pricing's fields (model, category, type): at most 64 bytes each.
    public static let pricingFieldBytes = 64

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

