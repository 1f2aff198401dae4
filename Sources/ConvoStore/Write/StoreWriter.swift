import LMDB

/// The write side of one transaction, valid only inside ``ConvoStore/write(_:)`` or a submitted body.
public struct StoreWriter {
    let recorder: Recorder

    /// Records an event of history. Outbound messages that break a rule are kept and counted under
    /// their violation (nothing is lost); invalid input is rejected with its reason.
    public func record(_ event: Event) throws -> RecordResult {
        try self.recorder.record(event)
    }

    /// A live send: checks an outbound message against the rules at its time; if allowed, records it
    /// with its charge, else refuses it and records nothing.
    public func send(_ message: Message) throws -> SendResult {
        guard message.direction == .outbound else {
            return .rejected(.invalidField(field: "direction", reason: "send takes outbound messages"))
        }
        if let error = Limits.violation(of: .message(message)) { return .rejected(error) }
        return try self.recorder.record(message, live: true)
    }

    /// A live control: a business may block only a customer whose window is open at the control's time.
    public func apply(_ control: Control) throws -> RecordResult {
        if let error = Limits.violation(of: .control(control)) { return .rejected(error) }
        return try self.recorder.record(control, live: true)
    }

    /// Sets (or with `nil` clears) a business's own reply SLA, moving its conversations' due times.
    public func setReplySLA(business: String, millis: Int64?) throws {
        if let millis, millis <= 0 || millis > 366 * 86_400_000 {
            throw ConvoStoreError.invalidField(field: "replySLA", reason: "must be between 1 ms and 366 days, got \(millis)")
        }
        try Limits.checkID(business, field: "business", limit: Limits.partyIDBytes)
        try self.recorder.setReplySLA(business: business, millis: millis)
    }

    /// Reads inside the same transaction (sees this transaction's writes).
    public var reader: StoreReader { StoreReader(reader: self.recorder.reader) }

    /// Records, in this transaction, how far the store has applied an external log (for a cluster
    /// node, its partition stream's sequence): committed with the events it covers, it says exactly
    /// where to go on after a crash, so each event of the log is applied once.
    public func setLogPosition(_ position: UInt64, of log: String) throws {
        try self.recorder.setLogPosition(position, of: log)
    }

    // MARK: For the importer and the server

    /// Records one thing a dump line or a webhook delivery carries: the one mapping of webhook
    /// items to events, used by `import --format webhook` and the server alike. `validated`: its
    /// limits were checked by the parser, so they are not checked twice.
    package func record(_ item: WebhookItem, validated: Bool) throws -> RecordResult {
        switch item {
        case .event(let event):
            return try self.recorder.record(event, validated: validated)
        case .outboundStatus(let status, let implied):
            if !validated, let error = Limits.violation(of: .status(status)) ?? Limits.violation(of: .message(implied)) {
                return .rejected(error)
            }
            return try self.recorder.recordOutboundStatus(status, impliedMessage: implied)
        }
    }

    /// Records the events of one input line (a native line, a webhook delivery) all or nothing:
    /// when one is rejected, what the others wrote is undone (a nested transaction) and the whole is
    /// rejected with that event's error; `.recorded` if any event changed the store. Their limits must have been checked.
    package func recordAllOrNothing(_ items: [WebhookItem]) throws -> RecordResult {
        // One event: a rejected one writes nothing, so no nested transaction is needed.
        if items.count == 1 { return try self.record(items[0], validated: true) }
        struct Rejected: Error { let error: ConvoStoreError }
        do {
            return try self.recorder.atomically {
                var recorded = 0
                for item in items {
                    switch try self.record(item, validated: true) {
                    case .recorded: recorded += 1
                    case .duplicate: break
                    case .rejected(let error): throw Rejected(error: error)
                    }
                }
                return recorded > 0 ? .recorded : .duplicate
            }
        } catch let rejected as Rejected {
            return .rejected(rejected.error)
        }
    }

    /// Records a `summary` line of a dump (docs/lifecycle.md): a horizon, a conversation's purged
    /// history, or charges kept without their messages. Idempotent.
    package func record(_ summary: SummaryLine) throws -> RecordResult {
        try self.recorder.atomically { try self.recorder.record(summary) }
    }

    /// Saves an import checkpoint in this transaction.
    func saveCheckpoint(_ key: [UInt8], _ checkpoint: Checkpoint) throws {
        try self.recorder.saveCheckpoint(key, checkpoint)
    }
}
