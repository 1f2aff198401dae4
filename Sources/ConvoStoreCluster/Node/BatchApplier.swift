import ConvoStore

/// One message of a partition's stream as the node received it: its sequence, its payload, and how to
/// read the payload.
public struct StreamEntry: Sendable {
    /// Its sequence in the partition's stream.
    public var sequence: UInt64
    /// The published line.
    public var payload: [UInt8]
    /// `native` or `webhook` (``ClusterLayout/formatHeader``).
    public var format: LineFormat
    /// For a webhook delivery, the indexes of the items that belong to this partition.
    public var items: [Int]?

    /// Makes an entry.
    public init(sequence: UInt64, payload: [UInt8], format: LineFormat, items: [Int]?) {
        self.sequence = sequence
        self.payload = payload
        self.format = format
        self.items = items
    }
}

/// What applying a batch did.
public struct BatchOutcome: Sendable, Hashable {
    /// Entries whose events were recorded (or were all duplicates of recorded ones: idempotent ids).
    public var applied = 0
    /// Entries at or below the store's position: delivered again by the log, already applied, skipped.
    public var redelivered = 0
    /// Entries the store refused, with their sequence and reason (kept aside by the node).
    public var rejected: [(sequence: UInt64, reason: String)] = []
    /// The store's position after the batch.
    public var position: UInt64 = 0
    /// The first sequence after the position that the batch skipped over: it and everything after it
    /// were not applied (the caller asks the log again from the position).
    public var missing: UInt64?

    public static func == (a: Self, b: Self) -> Bool {
        a.applied == b.applied && a.redelivered == b.redelivered && a.position == b.position && a.missing == b.missing
            && a.rejected.map(\.sequence) == b.rejected.map(\.sequence)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.applied)
        hasher.combine(self.position)
    }
}

/// Applies a batch of a partition's stream to its store in **one** write transaction that also moves the
/// store's position (``StoreWriter/setLogPosition(_:of:)``) to the batch's last sequence, and only ever
/// to a sequence all of whose predecessors are applied (it stops at a hole). The position is
/// read inside that same transaction and every entry at or below it is skipped: so an entry is applied
/// exactly once whatever the log redelivers, even if two processes wrote to one store at once (LMDB
/// serializes their transactions).
public struct BatchApplier: Sendable {
    /// The store's name for the partition's log.
    public let log: String

    /// An applier for the log `log`.
    public init(log: String) {
        self.log = log
    }

    /// Applies `entries` (in stream order); `beforeCommit` runs inside the transaction after the last
    /// entry (a test's crash point).
    public func apply(_ entries: [StreamEntry], to store: ConvoStore, beforeCommit: () -> Void = {}) throws -> BatchOutcome {
        try store.write { writer in
            var outcome = BatchOutcome()
            let position = try writer.reader.logPosition(of: self.log) ?? 0
            var last = position
            for entry in entries {
                guard entry.sequence > last else {
                    outcome.redelivered += 1
                    continue
                }
                // A partition's sequences are dense: a jump means a message not delivered yet. Applying
                // past it would move the position over it, and it would be skipped when it came.
                guard entry.sequence == last + 1 else {
                    outcome.missing = last + 1
                    break
                }
                if let reason = try Self.record(entry, writer) {
                    outcome.rejected.append((entry.sequence, reason))
                } else {
                    outcome.applied += 1
                }
                last = entry.sequence
            }
            if last > position { try writer.setLogPosition(last, of: self.log) }
            outcome.position = last
            beforeCommit()
            return outcome
        }
    }

    /// Records one entry's events, all or nothing; the reason when the store refused them.
    static func record(_ entry: StreamEntry, _ writer: StoreWriter) throws -> String? {
        let result: RecordResult
        switch entry.format {
        case .native:
            let line: DumpLine
            switch LineParsing.native(entry.payload) {
            case .success(let value): line = value
            case .failure(let error): return error.reason
            }
            switch line {
            case .header: return nil
            case .event(let event): result = try writer.recordAllOrNothing([.event(event)])
            case .summary(let summary): result = try writer.record(summary)
            }
        case .webhook:
            let delivery: WebhookDelivery
            switch LineParsing.webhook(entry.payload) {
            case .success(let value): delivery = value
            case .failure(let error): return error.reason
            }
            let indexes = entry.items ?? Array(delivery.items.indices)
            guard indexes.allSatisfy(delivery.items.indices.contains) else {
                return "\(ClusterLayout.itemsHeader) names item \(indexes.max() ?? 0) of a delivery of \(delivery.items.count): published by another version?"
            }
            guard !indexes.isEmpty else { return nil }
            result = try writer.recordAllOrNothing(indexes.map { delivery.items[$0] })
        }
        if case .rejected(let error) = result { return error.description }
        return nil
    }
}
