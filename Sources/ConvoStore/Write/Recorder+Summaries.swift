import LMDB

// Importing what a purge kept (docs/lifecycle.md): a store exported after a purge and imported again
// answers every question the same. Each summary line is idempotent.

extension Recorder {
    func record(_ summary: SummaryLine) throws -> RecordResult {
        switch summary {
        case .store(let horizon):
            return try self.raiseHorizon(to: horizon, business: nil) ? .recorded : .duplicate
        case .charges(let business, let horizon, let charges):
            let b = [UInt8](utf8: business)
            var changed = try horizon.map { try self.raiseHorizon(to: $0, business: b) } ?? false
            for charge in charges { changed = try self.keep(charge, business: b) || changed }
            return changed ? .recorded : .duplicate
        case .conversation(let business, let customer, let horizon, let purged):
            let key = ConversationKey(business: business, customer: customer)
            let raised = try self.raiseHorizon(to: horizon, business: key.business)
            return try self.recordPurgedHistory(purged.history, key: key) || raised ? .recorded : .duplicate
        }
    }

    /// Raises a horizon (the store's, or a business's) to at least `horizon`.
    private func raiseHorizon(to horizon: Int64, business: [UInt8]?) throws -> Bool {
        let current = try business.map { b in
            try self.txn.get(self.db.horizons, key: Keys.business(b)).map { Int64(bitPattern: BigEndian.read(UInt64.self, from: $0)) }
        } ?? self.reader.storeHorizon()
        if let current, current >= horizon { return false }
        if let business {
            try self.txn.put(self.db.horizons, key: Keys.business(business), value: BigEndian.bytes(UInt64(horizon)))
        } else {
            try self.txn.put(self.db.meta, key: Keys.horizonKey, value: BigEndian.bytes(UInt64(horizon)))
        }
        self.horizonsChanged()
        return true
    }

    /// Makes the store keep at least `charge.count` charges without a message at that millisecond,
    /// class, market and platform class.
    private func keep(_ charge: KeptCharge, business: [UInt8]) throws -> Bool {
        guard let billingClass = BillingClass(name: charge.billingClass), let platform = PlatformClass(name: charge.platform) else { return false }
        let key = ChargeKey(business: business, market: Market(name: charge.market), billingClass: billingClass,
                            day: UTCCalendar.day(charge.at), platform: platform).encoded()
        let cursor = try self.txn.cursor(self.db.charges)
        var existing: Int64 = 0
        var value = try cursor.seek(key: key, atOrAfterValue: ChargeValue.kept(at: charge.at, seq: 0).encoded())
        while let v = value, case .kept(let at, _) = try ChargeValue(decoding: v.value), at == charge.at {
            existing += 1
            value = try cursor.nextDuplicate()
        }
        guard existing < charge.count else { return false }
        for _ in existing..<charge.count {
            try self.txn.put(self.db.charges, key: key, value: ChargeValue.kept(at: charge.at, seq: self.takeSeq()).encoded())
        }
        return true
    }

    /// Gives a conversation the summary of its purged history, and re-derives its state, classes,
    /// indexes and R8 interval with it.
    private func recordPurgedHistory(_ purged: PurgedHistory, key: ConversationKey) throws -> Bool {
        let old = try self.reader.conversation(key: key.encoded)
        if let existing = old?.purged {
            if existing == purged { return false }
            throw ConvoStoreError.invalidField(field: "summary", reason: "the conversation \(key.label) already has another summary of its purged history")
        }
        var c = self.conversationOrNew(old)
        c.purged = purged
        let messages = try self.reader.messages(of: c.id)
        let kept = try self.reader.controlsInRecordingOrder(of: c.id).map(\.control)
        let controls = try self.reader.controls(of: c)
        let derived = Checker.derive(id: c.id, messages: messages, controls: controls, keptControls: kept, purged: purged, settings: self.settings)
        var all = ReclassifyRange()
        all.add(0, .max)
        try self.reclassify(derived, key: key, range: all)
        try self.save(derived, old: old, key: key)
        if let lastReach = purged.lastReach {
            try self.addPurgedReachInterval(conversation: derived, business: key.business, at: lastReach)
        }
        return true
    }
}
