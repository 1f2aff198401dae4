import ConvoStore

/// The store as a server uses it: events submitted through the group-commit writer.
final class ConvoStoreEngine: Engine, @unchecked Sendable {
    // @unchecked: ConvoStore is Sendable; `store` is replaced only in beginLivePhase, when no read runs;
    // `workload` is immutable.
    private var store: ConvoStore
    private let directory: String
    private let workload: Workload

    init(directory: String, workload: Workload) throws {
        var options = Self.options
        options.durabilityOverride = .unsafeNoSync
        self.store = try ConvoStore.open(at: directory, options: options)
        self.directory = directory
        self.workload = workload
    }

    /// The same map size as raw_lmdb's, so that neither grows its map during the run.
    private static var options: StoreOptions {
        var options = StoreOptions()
        options.initialMapSize = 1 << 36
        options.maxEventsPerCommit = Runner.importBatchSize
        return options
    }

    func beginLivePhase(durable: Bool) throws {
        // Opening the path again shares the open environment and applies the store's own durability (durable),
        // unless the diagnosis asked for unsynced commits.
        self.store.close()
        var options = Self.options
        if !durable { options.durabilityOverride = .unsafeNoSync }
        self.store = try ConvoStore.open(at: self.directory, options: options)
    }

    func apply(_ batch: ArraySlice<WorkloadEvent>) async throws {
        let events = batch.map(self.event)
        for result in try await self.store.submit(events) {
            if case .rejected(let error) = result { throw EngineFailure(description: "convostore rejected an event: \(error)") }
        }
    }

    private func event(_ e: WorkloadEvent) -> Event {
        let conversation = self.workload.conversations[Int(e.conversation)]
        let business = Workload.businessID(conversation.business)
        switch e.kind {
        case .inbound, .reply, .template:
            let isTemplate = e.kind == .template
            return .message(Message(
                id: Workload.messageID(e.message), business: business, customer: Workload.customerID(conversation.customer),
                direction: e.kind == .inbound ? .inbound : .outbound, at: e.at,
                kind: isTemplate ? "template" : "text", category: isTemplate ? TemplateCategory(rawValue: e.detail) : nil,
                body: Array(self.workload.body(e)), bodyIsText: false,
                entryPoint: e.detail == 1 && e.kind == .inbound ? EntryPoint(source: "ad", id: "ad-2026") : nil))
        case .status:
            return .status(StatusUpdate(business: business, messageID: Workload.messageID(e.message), status: MessageStatus(rawValue: e.detail)!, at: e.at))
        case .control:
            let (actor, action) = Self.control(ControlChoice(rawValue: e.detail)!)
            return .control(Control(business: business, customer: Workload.customerID(conversation.customer), actor: actor, action: action, at: e.at))
        }
    }

    static func control(_ choice: ControlChoice) -> (Actor, ControlAction) {
        switch choice {
        case .customerOptIn: (.customer, .optIn)
        case .customerMarketingOptOut: (.customer, .marketingOptOut)
        case .customerRestrict: (.customer, .restrict)
        case .customerUnrestrict: (.customer, .unrestrict)
        case .customerBlock: (.customer, .block)
        case .customerUnblock: (.customer, .unblock)
        case .customerReportSpam: (.customer, .reportSpam)
        case .businessBlock: (.business, .block)
        case .businessUnblock: (.business, .unblock)
        }
    }

    func checkSend(conversation: UInt32, at: Int64) throws -> Bool {
        let c = self.workload.conversations[Int(conversation)]
        return try self.store.checkSend(business: Workload.businessID(c.business), customer: Workload.customerID(c.customer), at: at).isAllowed
    }

    func newlyOverdue(after: Int64, until: Int64, limit: Int) throws -> Int {
        try self.store.newlyOverdue(after: after, until: until, limit: limit).count
    }

    func windowsClosing(from: Int64, to: Int64) throws -> Int {
        try self.store.windowsClosing(from: from, to: to).count
    }

    func countOverdue(asOf: Int64) throws -> Int {
        try self.store.read { try $0.countOverdue(asOf: asOf) }
    }

    func billingTotals() throws -> BillingTotals? {
        var totals = BillingTotals()
        try self.store.read { reader in
            for business in 0..<UInt32(Workload.businessCount) {
                let summary = try reader.billing(business: Workload.businessID(business))
                for (category, count) in summary.charged { totals.charged[Int(category.rawValue)] += count }
                for (violation, count) in summary.violations { totals.violations[Int(violation.rawValue) - 1] += count }
                totals.free += summary.free
                totals.amountMicros += summary.amountMicros
            }
        }
        return totals
    }

    func close() throws {
        self.store.close()
    }
}
