// R4, the sending rules: the decision for an outbound message, given the facts about its
// conversation at its time. Storage-dependent facts (which inbound opened the window, which control
// is in effect) are looked up by ConversationReader and handed here as a SendContext.

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
