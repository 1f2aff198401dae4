// R4 and the service charges of R7, the sending rules: the decision for an outbound message, given
// the facts about its conversation at its time. Storage-dependent facts (which inbound opened the
// window, which control is in effect) are looked up by ConversationReader and handed here as a
// SendContext. How much a charged message costs is Pricing's (R7); whether it is a reach, R8's.

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
    /// t is at or after the store's `serviceChargesFrom` (R7).
    var serviceCharged: Bool
}

enum SendRules {
    /// R4, in its order: blocked; non-template needs the window; templates need consent, respect
    /// marketing opt-out and restriction, and are charged unless free. From the service-charge date
    /// (R7), a free-form message inside the window is charged as `service` and a utility template
    /// inside it is charged; the free entry point window keeps every message free.
    static func classify(isTemplate: Bool, category: TemplateCategory?, context c: SendContext) -> SendOutcome {
        if c.flags.blocked { return .violation(.blocked) }
        guard isTemplate, let category else {
            guard c.windowOpen else { return .violation(.outsideWindow) }
            return c.serviceCharged && !c.inFreeWindow ? .charged(.service) : .free
        }
        if !c.customerWrote && !c.flags.contains(.optedIn) { return .violation(.noOptIn) }
        if category == .marketing {
            if c.flags.contains(.marketingOptedOut) { return .violation(.optedOut) }
            if c.flags.contains(.restricted) { return .violation(.restricted) }
        }
        if c.inFreeWindow { return .free }
        switch category {
        case .marketing, .authentication: return .charged(ChargeCategory(category))
        case .utility: return c.windowOpen && !c.serviceCharged ? .free : .charged(.utility)
        }
    }

    /// R8: an allowed template sent while the customer's window is closed reaches the customer
    /// (a failed one reaches nobody; the caller checks that).
    static func isReach(isTemplate: Bool, outcome: SendOutcome, context c: SendContext) -> Bool {
        isTemplate && outcome.isAllowed && !c.windowOpen
    }
}
