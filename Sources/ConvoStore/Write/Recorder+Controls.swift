import LMDB

// R5: a control joins its group; the conversation's flags are the state after all controls, and the
// outbound messages from its time on are classified again.

extension Recorder {
    /// Records a control. Live, a business may block only a customer whose window is open.
    /// Its limits must have been checked (``Limits/validate(_:)-(Control)``).
    func record(_ control: Control, live: Bool) throws -> RecordResult {
        let key = try self.conversationKey(business: control.business, customer: control.customer)
        if let error = try self.horizonViolation(business: key.business, at: control.at) { return .rejected(error) }
        let old = try self.reader.conversation(key: key.encoded)
        if live, control.actor == .business, control.action == .block {
            let lastIn = try old.flatMap { c in try self.reader.latestInbound(of: c, atOrBefore: control.at) }
            guard let lastIn, control.at < lastIn + self.settings.windowMillis else {
                return .rejected(.businessBlockOutsideWindow(business: control.business, customer: control.customer))
            }
        }
        let group = ControlGroup(actor: control.actor, action: control.action)
        if let old, try self.isInEffect(control.action, of: group, at: control.at, in: old.id) {
            // The same control as the last one of its group at that time (a re-imported dump):
            // recording it again could change nothing, so imports stay idempotent.
            return .duplicate
        }
        var c = self.conversationOrNew(old)
        c.oldest = min(c.oldest ?? control.at, control.at)
        try self.txn.put(
            self.db.controls, key: Keys.control(conversation: c.id, group: group, at: control.at, seq: self.takeSeq()),
            value: [control.action.rawValue])
        let controls = try self.reader.controls(of: c)
        c.summarize(controls: controls)
        var range = ReclassifyRange()
        range.add(control.at, .max)
        try self.reclassify(c, key: key, range: range, controls: controls)
        try self.save(c, old: old, key: key)
        return .recorded
    }

    /// Whether the last control recorded at `at` in `group` is `action` (the one in effect then).
    private func isInEffect(_ action: ControlAction, of group: ControlGroup, at: Int64, in conversation: UInt32) throws -> Bool {
        var found = false
        let lower = Keys.control(conversation: conversation, group: group, at: at, seq: 0)
        let upper = Keys.control(conversation: conversation, group: group, at: at, seq: .max)
        try self.txn.forEach(self.db.controls, from: .inclusive(lower), to: .inclusive(upper), reverse: true) { _, value in
            found = value.count == 1 && value[0] == action.rawValue
            return false
        }
        return found
    }
}
