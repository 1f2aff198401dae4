import LMDB

// Business-scoped user ids (docs/domain.md, "Parties and ids"; issue 18): a delivery that names a
// customer by phone number and user id links the two, and from then on every event naming the user
// id is recorded in the phone number's conversation. A conversation started under the user id before
// the link arrived is merged into the phone number's: its events are recorded again there (recording
// is order-free, so the result is the state of the two histories together) and the user id's
// conversation is removed.

extension Recorder {
    /// Records a link from a user id to a phone number.
    func record(_ link: IdentityLink) throws -> RecordResult {
        let business = [UInt8](utf8: link.business)
        let userID = [UInt8](utf8: link.userID)
        let phone = [UInt8](utf8: link.phone)
        let key = Keys.identity(business: business, userID: userID)
        if let existing = try self.txn.get(self.db.identities, key: key) {
            if existing.elementsEqual(phone) { return .duplicate }
            return .rejected(.invalidField(
                field: "user_id", reason: "\(Display.quoted(link.userID)) is already linked to another phone number of business \(Display.quoted(link.business))"))
        }
        try self.txn.put(self.db.identities, key: key, value: phone)
        try self.txn.put(self.db.identities, key: Keys.identityByPhone(business: business, phone: phone, userID: userID), value: [])
        try self.identitiesChanged()
        try self.mergeConversation(business: business, from: userID, into: link.phone)
        return .recorded
    }

    /// Moves the conversation of `business` with the user id `userID`, if there is one, into the
    /// phone number's.
    private func mergeConversation(business: [UInt8], from userID: [UInt8], into phone: String) throws {
        let from = ConversationKey(business: business, customer: userID)
        guard let c = try self.reader.conversation(key: from.encoded) else { return }
        let businessText = String(utf8Bytes: business)
        var events: [Event] = []
        for (key, record) in try self.reader.messages(of: c.id) {
            var stored = StoredMessage(key: key, record: record, business: businessText, customer: phone)
            stored.message.customer = phone
            events.append(.message(stored.message))
            if let status = record.status {
                events.append(.status(StatusUpdate(business: businessText, messageID: stored.message.id, status: status, at: record.statusAt ?? key.at, pricing: record.pricing)))
            }
        }
        for (control, _) in try self.reader.controlsInRecordingOrder(of: c.id) {
            let actor: Actor = control.group == .businessBlock ? .business : .customer
            events.append(.control(Control(business: businessText, customer: phone, actor: actor, action: control.action, at: control.at)))
        }
        // What a purge kept of its history has no events to replay: it stays in the user id's place.
        guard c.purged == nil else { return }
        try self.eraseConversation(c, key: from, keepCharges: false)
        for event in events {
            if case .rejected(let error) = try self.record(event, validated: true) {
                throw ConvoStoreError.invalidField(field: "user_id", reason: "merging its conversation into the phone number's: \(error)")
            }
        }
    }

    /// The user ids linked to a phone number of a business (erasure removes the links too).
    func linkedUserIDs(business: [UInt8], phone: [UInt8]) throws -> [[UInt8]] {
        let prefix = Keys.identityByPhone(business: business, phone: phone)
        var out: [[UInt8]] = []
        try self.txn.forEach(self.db.identities, from: .inclusive(prefix), to: .exclusive(prefix + [0xFF])) { key, _ in
            out.append(Array(key[prefix.count...]))
            return true
        }
        return out
    }
}
