import LMDB

// Taking one message back out of its conversation (an implied message that an earlier status moves):
// the message, its id, its charge entry and its reach go, and the conversation's state, classes and
// indexes are derived again from what remains, as check derives them.

extension Recorder {
    /// Removes the message at `messageKey` as if it had never been recorded.
    func removeMessage(at messageKey: MessageKey, record: MessageRecord, business: [UInt8]) throws {
        let key = try self.reader.conversationKey(id: messageKey.conversation)
        let old = try self.reader.conversation(id: messageKey.conversation)
        if record.isReach { try self.removeReach(conversation: old, business: business, at: messageKey.at) }
        if record.direction == .outbound { try self.removeCharge(of: record, at: messageKey.at, key: key) }
        try self.txn.delete(self.db.messageIDs, key: Keys.messageID(business: key.business, id: record.id, seq: messageKey.seq))
        try self.txn.delete(self.db.messages, key: messageKey.encoded)
        try self.rebuild(old, key: key)
    }

    /// Derives a conversation's state again from its kept history and summary, and re-classifies
    /// every outbound message with it (moving charge entries and reaches as they change).
    func rebuild(_ old: ConversationRecord, key: ConversationKey) throws {
        let messages = try self.reader.messages(of: old.id)
        let kept = try self.reader.controlsInRecordingOrder(of: old.id).map(\.control)
        let controls = try self.reader.controls(of: old)
        let derived = Checker.derive(id: old.id, messages: messages, controls: controls, keptControls: kept, purged: old.purged, settings: self.settings)
        var all = ReclassifyRange()
        all.add(0, .max)
        try self.reclassify(derived, key: key, range: all, controls: controls.isEmpty ? nil : controls)
        try self.save(derived, old: old, key: key)
    }
}
