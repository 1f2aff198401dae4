// R5: controls form groups; the latest control of a group at or before a time is in effect.

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


/// One control as stored: its group, time and action (the conversation's controls are read in
/// (group, time, recording order)).
struct RecordedControl: Equatable {
    var group: ControlGroup
    var at: Int64
    var action: ControlAction
}
