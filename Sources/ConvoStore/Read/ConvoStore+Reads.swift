import LMDB

// Each read of StoreReader as a method of the store, on a snapshot of its own.
extension ConvoStore {
    /// One conversation's state at `at`; see ``StoreReader/conversation(business:customer:at:)``.
    public func conversation(business: String, customer: String, at: Int64) throws -> ConversationState? {
        try self.read { try $0.conversation(business: business, customer: customer, at: at) }
    }

    /// Whether an outbound message would be allowed at `at`; see ``StoreReader/checkSend(business:customer:at:kind:category:)``.
    public func checkSend(business: String, customer: String, at: Int64, kind: String = "text", category: TemplateCategory? = nil) throws -> SendOutcome {
        try self.read { try $0.checkSend(business: business, customer: customer, at: at, kind: kind, category: category) }
    }

    /// Conversations overdue at `asOf`; see ``StoreReader/overdue(asOf:business:limit:)``.
    public func overdue(asOf: Int64, business: String? = nil, limit: Int = .max) throws -> [WaitingConversation] {
        try self.read { try $0.overdue(asOf: asOf, business: business, limit: limit) }
    }

    /// Conversations newly overdue in `(after, until]`; see ``StoreReader/newlyOverdue(after:until:limit:)``.
    public func newlyOverdue(after: Int64, until: Int64, limit: Int = .max) throws -> [WaitingConversation] {
        try self.read { try $0.newlyOverdue(after: after, until: until, limit: limit) }
    }

    /// Windows closing in `[from, to)`; see ``StoreReader/windowsClosing(from:to:business:limit:)``.
    public func windowsClosing(from: Int64, to: Int64, business: String? = nil, limit: Int = .max) throws -> [ClosingWindow] {
        try self.read { try $0.windowsClosing(from: from, to: to, business: business, limit: limit) }
    }

    /// A business's waiting conversations by due time; see ``StoreReader/inbox(business:limit:)``.
    public func inbox(business: String, limit: Int = .max) throws -> [WaitingConversation] {
        try self.read { try $0.inbox(business: business, limit: limit) }
    }

    /// Charges and violations in `[from, to)`; see ``StoreReader/billing(business:from:to:)``.
    public func billing(business: String, from: Int64? = nil, to: Int64? = nil) throws -> BillingSummary {
        try self.read { try $0.billing(business: business, from: from, to: to) }
    }

    /// A page of history, newest first; see ``StoreReader/history(business:customer:before:limit:)``.
    public func history(business: String, customer: String, before: HistoryPosition? = nil, limit: Int = 50) throws -> [StoredMessage] {
        try self.read { try $0.history(business: business, customer: customer, before: before, limit: limit) }
    }
}
