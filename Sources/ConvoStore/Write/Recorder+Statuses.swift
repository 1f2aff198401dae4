import LMDB

// R6: statuses only move forward and `failed` is final, so the kept status is the highest; a status
// for a message not yet recorded waits for it in `pendingStatus`.

extension Recorder {
    /// Records a status. Its limits must have been checked (``Limits/validate(_:)-(StatusUpdate)``).
    func record(_ update: StatusUpdate) throws -> RecordResult {
        let idKey = Keys.messageID(business: [UInt8](utf8: update.business), id: [UInt8](utf8: update.messageID))
        if let raw = try self.txn.get(self.db.messageIDs, key: idKey) {
            let key = try MessageKey(decoding: raw, database: "messageIDs").encoded
            guard let storedRaw = try self.txn.get(self.db.messages, key: key) else {
                throw ConvoStoreError.corruptRecord(database: "messageIDs", detail: "points to a missing message")
            }
            var stored = try MessageRecord(decoding: storedRaw)
            let merged = Self.merge(stored.status.map { ($0, stored.statusAt ?? update.at) }, (update.status, update.at))
            if merged.0 == stored.status && merged.1 == stored.statusAt { return .duplicate }
            stored.status = merged.0
            stored.statusAt = merged.1
            try self.txn.put(self.db.messages, key: key, value: stored.encoded())
            return .recorded
        }
        let current = try self.txn.get(self.db.pendingStatus, key: idKey).map { try PendingStatus(decoding: $0) }
        let merged = Self.merge(current.map { ($0.status, $0.at) }, (update.status, update.at))
        if let current, current.status == merged.0, current.at == merged.1 { return .duplicate }
        try self.txn.put(self.db.pendingStatus, key: idKey, value: PendingStatus(status: merged.0, at: merged.1).encoded())
        if current == nil { self.pendingStatuses += 1 }
        return .recorded
    }

    /// A webhook status: records the outbound message it implies when its id is new, then the status.
    /// Both must have been validated.
    func recordOutboundStatus(_ update: StatusUpdate, impliedMessage: Message) throws -> RecordResult {
        let idKey = Keys.messageID(business: [UInt8](utf8: update.business), id: [UInt8](utf8: update.messageID))
        var recordedMessage = false
        if try self.txn.get(self.db.messageIDs, key: idKey) == nil {
            switch try self.record(impliedMessage, live: false) {
            case .rejected(let error): return .rejected(error)
            case .sent, .refused: recordedMessage = true
            case .duplicate: break
            }
        }
        let status = try self.record(update)
        return recordedMessage && status == .duplicate ? .recorded : status
    }

    /// The higher status wins; for the same status, the earlier time (so the result is order-independent).
    static func merge(_ a: (MessageStatus, Int64)?, _ b: (MessageStatus, Int64)) -> (MessageStatus, Int64) {
        guard let a else { return b }
        if a.0 != b.0 { return a.0 > b.0 ? a : b }
        return a.1 <= b.1 ? a : b
    }
}
