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
        return try self.recorder.record(message, live: true)
    }

    /// Records a status of an outbound message from a webhook archive: the first status of an unknown
    /// message id also records `impliedMessage` (the outbound message it implies, at the status's time).
    public func recordOutboundStatus(_ status: StatusUpdate, impliedMessage: Message) throws -> RecordResult {
        try self.recorder.recordOutboundStatus(status, impliedMessage: impliedMessage)
    }

    /// A live control: a business may block only a customer whose window is open at the control's time.
    public func apply(_ control: Control) throws -> RecordResult {
        try self.recorder.record(control, live: true)
    }

    /// Sets (or with `nil` clears) a business's own reply SLA, moving its conversations' due times.
    public func setReplySLA(business: String, millis: Int64?) throws {
        if let millis, millis <= 0 {
            throw ConvoStoreError.invalidField(field: "replySLA", reason: "must be positive, got \(millis)")
        }
        try Limits.checkID(business, field: "business", limit: Limits.partyIDBytes)
        try self.recorder.setReplySLA(business: business, millis: millis)
    }

    /// Reads inside the same transaction (sees this transaction's writes).
    public var reader: StoreReader { StoreReader(reader: self.recorder.reader) }
}

extension ConvoStore {
    /// Sets (or clears) a business's reply SLA in its own commit.
    public func setReplySLA(business: String, millis: Int64?) throws {
        try self.write { try $0.setReplySLA(business: business, millis: millis) }
    }
}
