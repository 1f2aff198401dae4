/// The load harness's SQLite engine (``SQLiteEngine``, unchanged: WAL, `synchronous=FULL`, one
/// transaction per call) as `sqliteserver` drives it behind the server's routes: conversations are
/// those of a ``Workload`` (the engine keys them by the workload's numbers), found by their ids.
package final class SQLiteServerEngine: Sendable {
    private let engine: SQLiteEngine
    private let workload: Workload
    /// `business/customer` -> the workload's conversation number.
    private let conversations: [String: UInt32]

    /// Creates the database in `directory` (which must not hold one) for the conversations of
    /// `users` users of the workload with `seed`; every commit is durable.
    package init(directory: String, users: Int, seed: UInt64) throws {
        let workload = Workload(users: users, seed: seed)
        self.workload = workload
        self.engine = try SQLiteEngine(directory: directory, workload: workload)
        try self.engine.beginLivePhase(durable: true)
        var conversations: [String: UInt32] = [:]
        conversations.reserveCapacity(workload.conversations.count)
        for (number, c) in workload.conversations.enumerated() {
            conversations[Workload.businessID(c.business) + "/" + Workload.customerID(c.customer)] = UInt32(number)
        }
        self.conversations = conversations
    }

    /// The (business, customer) ids of every conversation, in the workload's order.
    package var pairs: [(business: String, customer: String)] {
        self.workload.conversations.map { (Workload.businessID($0.business), Workload.customerID($0.customer)) }
    }

    /// Records an inbound message in a transaction of its own (synced before it returns). False if
    /// the conversation is not one of the workload's.
    package func recordInbound(business: String, customer: String, messageNumber: UInt32, at: Int64, bodyLength: Int) async throws -> Bool {
        guard let conversation = self.conversations[business + "/" + customer] else { return false }
        let event = WorkloadEvent(
            at: at, conversation: conversation, message: messageNumber, kind: .inbound, detail: 0, bodyLength: UInt8(clamping: bodyLength))
        try await self.engine.apply([event][...])
        return true
    }

    /// Whether a free-form reply may be sent at `at` (the harness's point read); nil for a
    /// conversation that is not the workload's.
    package func canSendFreeform(business: String, customer: String, at: Int64) throws -> Bool? {
        guard let conversation = self.conversations[business + "/" + customer] else { return nil }
        return try self.engine.checkSend(conversation: conversation, at: at)
    }

    /// Checkpoints and closes the database.
    package func close() throws {
        try self.engine.close()
    }
}
