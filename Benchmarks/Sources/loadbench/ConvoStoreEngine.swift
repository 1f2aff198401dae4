import ConvoStore
import Foundation

/// The store as a server uses it: events submitted through the group-commit writer, priced with the
/// workload's rate card (``HarnessRateCard``), loaded with `importRates` before the live phase.
final class ConvoStoreEngine: GroupCommitEngine, @unchecked Sendable {
    // @unchecked: ConvoStore is Sendable; `workload` is immutable.
    private let store: ConvoStore
    private let workload: Workload

    /// `rateCard` false: the store prices with its defaults alone (the `convostore_no_card` variant).
    init(directory: String, workload: Workload, mode: OpenMode, rateCard: Bool) throws {
        // The same map size as raw_lmdb's, so that neither grows its map during the run.
        var options = StoreOptions()
        options.initialMapSize = 1 << 36
        options.maxEventsPerCommit = Runner.groupCommitLimit
        switch mode {
        case .bulkLoad:
            options.durabilityOverride = .unsafeNoSync
        case .live(let durable):
            // Durable: the store's own setting (fsync before a commit returns); else the diagnosis.
            if !durable { options.durabilityOverride = .unsafeNoSync }
        }
        self.store = try ConvoStore.open(at: directory, options: options)
        self.workload = workload
        if case .live = mode, rateCard {
            try self.store.importRates(csv: HarnessRateCard.csv, name: "loadbench-rates.csv")
        }
    }

    func apply(_ batch: ArraySlice<WorkloadEvent>) async throws {
        let events = batch.map(self.event)
        for result in try await self.store.submit(events) {
            if case .rejected(let error) = result { throw EngineFailure(description: "convostore rejected an event: \(error)") }
        }
    }

    func submit(_ event: WorkloadEvent) async throws {
        for result in try await self.store.submit([self.event(event)]) {
            if case .rejected(let error) = result { throw EngineFailure(description: "convostore rejected an event: \(error)") }
        }
    }

    func takeBatchSizes() -> [Int] { GroupCommitBatches.shared.take() }

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

    /// The walk read in place (``WaitingEntry``), as raw_lmdb's and rocksdb's count their cursor's
    /// entries; ``newlyOverdueValues(after:until:limit:)`` is the array of values.
    func newlyOverdue(after: Int64, until: Int64, limit: Int) throws -> Int {
        guard limit > 0 else { return 0 }
        return try self.store.read { reader in
            var count = 0
            try reader.forEachNewlyOverdueEntry(after: after, until: until) { _ in
                count += 1
                return count < limit
            }
            return count
        }
    }

    func newlyOverdueValues(after: Int64, until: Int64, limit: Int) throws -> Int? {
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
                totals.failed += summary.failed
                totals.amountMicros += summary.amountMicros
                for (market, charges) in summary.markets { totals.marketAmounts[market, default: 0] += charges.amountMicros }
            }
            for business in BillingTotals.reachSample {
                totals.reached.append(Int(try reader.messagingLimit(business: Workload.businessID(business), at: Workload.end - 1).reached24h))
            }
        }
        return totals
    }

    /// A consistent copy of the store in `directory` while the writer goes on (`--backup-during-live`).
    func backup(to directory: String) throws {
        try self.store.backup(to: directory)
    }

    /// Opens a copy made by ``backup(to:)`` and runs the store's own `check` on it: nil if it passes,
    /// else the problems found.
    static func check(copy directory: String) throws -> String? {
        let copy = try ConvoStore.open(at: directory)
        defer { copy.close() }
        let report = try copy.check()
        return report.isHealthy ? nil : report.problems.prefix(3).joined(separator: "; ")
    }

    func finishImport() throws {
        self.store.close()
    }

    func close() throws {
        self.store.close()
    }
}
