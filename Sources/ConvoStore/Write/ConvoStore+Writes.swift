import LMDB

// The write side of the store: synchronous transactions, and the async writer (group commit).

extension ConvoStore {
    /// Runs `body` in one write transaction (one commit), synchronously: it commits when `body`
    /// returns and rolls back when it throws. `body` may run again if the map had to grow, so it
    /// must have no effects outside the store. Do not call it from inside another `write`.
    public func write<T>(_ body: (StoreWriter) throws -> T) throws -> T {
        let started = StoreMetrics.shared.start()
        let result = try self.environment.write { txn in
            let recorder = try Recorder(txn: txn, db: self.databases, settings: self.settings, pricing: self.pricing)
            let result = try body(StoreWriter(recorder: recorder))
            try recorder.finish()
            return result
        }
        StoreMetrics.shared.committed(self.environment, path: self.path, since: started)
        return result
    }

    /// Records events in one commit, synchronously.
    public func record(_ events: [Event]) throws -> [RecordResult] {
        try self.write { writer in try events.map { try writer.record($0) } }
    }

    // MARK: Async (group commit)

    /// Records events through the writer thread; returns after the commit that holds them
    /// (durable unless the store was opened otherwise). Many concurrent callers share commits.
    public func submit(_ events: [Event]) async throws -> [RecordResult] {
        try await self.submit(weight: events.count) { writer in try events.map { try writer.record($0) } }
    }

    /// Checks an outbound message against the rules at its time and, if allowed, records it with its
    /// charge in the same transaction. Returns after the commit.
    public func send(_ message: Message) async throws -> SendResult {
        try await self.submit(weight: 1) { writer in try writer.send(message) }
    }

    /// Records a control live: a business block is refused unless the customer's window is open.
    public func apply(_ control: Control) async throws -> RecordResult {
        try await self.submit(weight: 1) { writer in try writer.apply(control) }
    }

    /// Runs `body` on the writer thread inside a group commit and returns its result after the commit.
    /// `body` must not block or wait; it may run again if the map had to grow.
    public func submit<T: Sendable>(weight: Int = 1, _ body: @escaping @Sendable (StoreWriter) throws -> T) async throws -> T {
        try await self.writer.submit(store: self, weight: weight, body)
    }

    /// Sets (or clears) a business's reply SLA in its own commit.
    public func setReplySLA(business: String, millis: Int64?) throws {
        try self.write { try $0.setReplySLA(business: business, millis: millis) }
    }
}
