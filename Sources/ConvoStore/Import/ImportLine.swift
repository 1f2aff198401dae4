// One input line on its way into the store: parsed on the parser thread, applied on the writer's.

/// A line read, with what parsing made of it.
struct ImportLine: @unchecked Sendable {
    // @unchecked: handed from the parser thread to the writer through BatchQueue, never shared.
    enum Content {
        case items([WebhookItem])
        case summary(SummaryLine)
        case reject(String)
        case skip
    }

    /// A line's bytes, as the rejects file takes them: in memory, or (over the length limit) in
    /// the batch's spill file.
    enum Text {
        case bytes([UInt8])
        case spilled(SpillFile, offset: Int, length: Int)
    }

    /// Its 1-based number in the input.
    var number: Int
    /// Its bytes, without the newline (for the rejects file).
    var text: Text
    /// The input offset just after it.
    var end: Int
    /// The hash of the input's bytes up to `end` (for the checkpoint).
    var endHash = PrefixHash()
    var content: Content
    /// Parts of a webhook delivery skipped (not errors).
    var partsSkipped = 0

    /// What applying a line did.
    enum Outcome {
        case imported, duplicate, skipped, rejected(String)

        var isRejected: Bool {
            if case .rejected = self { return true }
            return false
        }
    }

    /// Parses `text` in `format`; blank lines are skipped.
    init(number: Int, text: [UInt8], end: Int, format: DumpFormat) {
        self.number = number
        self.text = .bytes(text)
        self.end = end
        self.content = .skip
        if text.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
        switch format {
        case .native:
            self.content = text.withUnsafeBytes { raw -> Content in
                do throws(DumpLineError) {
                    switch try NativeDump.parse(raw) {
                    case .header: return .skip
                    case .event(let event): return .items([.event(event)])
                    case .summary(let summary): return .summary(summary)
                    }
                } catch {
                    return .reject(error.reason)
                }
            }
        case .webhook:
            var skipped = 0
            self.content = text.withUnsafeBytes { raw -> Content in
                do throws(DumpLineError) {
                    let delivery = try WebhookArchive.parse(raw)
                    skipped = delivery.skipped
                    return delivery.items.isEmpty ? .skip : .items(delivery.items)
                } catch {
                    return .reject(error.reason)
                }
            }
            self.partsSkipped = skipped
        }
    }

    /// A line rejected before parsing (over the length limit).
    init(number: Int, text: Text, end: Int, rejectedBecause reason: String) {
        self.number = number
        self.text = text
        self.end = end
        self.content = .reject(reason)
    }

    /// Records the line's events (validated by the parser) in the writer's transaction. A line is
    /// one unit: when one event of a webhook delivery is rejected, none of the delivery is recorded.
    func apply(_ writer: StoreWriter) throws -> Outcome {
        switch self.content {
        case .skip: return .skipped
        case .reject(let reason): return .rejected(reason)
        case .summary(let summary):
            switch try writer.record(summary) {
            case .recorded: return .imported
            case .duplicate: return .duplicate
            case .rejected(let error): return .rejected(error.description)
            }
        case .items(let items):
            switch try writer.recordAllOrNothing(items) {
            case .recorded: return .imported
            case .duplicate: return .duplicate
            case .rejected(let error): return .rejected(error.description)
            }
        }
    }
}
