import LMDB

extension ConvoStore {
    /// Writes the whole store as native dump lines (without newlines), header first, in a
    /// deterministic order: the statuses still waiting for their message (before any horizon, which
    /// a purge lets them keep); the store's horizon; business by business, the charges it keeps
    /// without their messages and its user-id links; then the conversations by (business, customer).
    /// In each conversation: the summary of its purged history, its messages by time (each followed
    /// by its status), then its controls in recording order. Importing the lines into an empty store
    /// gives the same state (docs/lifecycle.md).
    ///
    /// A damaged store (its pages, checked first) throws ``ConvoStoreError/corruptRecord(database:detail:)``
    /// before anything is written.
    public func export(_ emit: (String) throws -> Void) throws {
        try self.read { store in
            let pages = try store.txn.verifyPages(maxProblems: 5)
            guard pages.isSound else {
                throw ConvoStoreError.corruptRecord(database: "data.mdb", detail: "damaged pages: " + pages.problems.joined(separator: "; "))
            }
            let reader = store.reader
            try emit(NativeDump.header)
            try reader.forEachPendingStatus { business, id, pending in
                try emit(NativeDump.line(StatusUpdate(business: business, messageID: id, status: pending.status, at: pending.at, pricing: pending.pricing)))
            }
            if let horizon = try reader.storeHorizon() { try emit(SummaryLine.store(horizon: horizon).line()) }
            try reader.forEachBusiness { b in try Self.exportBusinessLines(b, reader: reader, emit: emit) }
            try reader.forEachConversation { key, id in
                try Self.exportConversation(key, id: id, reader: reader, emit: emit)
            }
        }
    }

    /// A business's kept charges (in lines of at most 1,000) and its links.
    private static func exportBusinessLines(_ business: [UInt8], reader: ConversationReader, emit: (String) throws -> Void) throws {
        let name = String(utf8Bytes: business)
        var kept: [KeptCharge] = []
        let prefix = Keys.business(business)
        try reader.txn.forEach(reader.db.charges, from: .inclusive(prefix), to: .exclusive(prefix + [0xFF])) { rawKey, rawValue in
            guard case .kept(let at, _) = try ChargeValue(decoding: rawValue) else { return true }
            let key = try ChargeKey(decoding: rawKey)
            if let last = kept.last, last.at == at, last.billingClass == key.billingClass.name, last.market == key.market.name,
               last.platform == key.platform.name {
                kept[kept.count - 1].count += 1
            } else {
                kept.append(KeptCharge(at: at, billingClass: key.billingClass.name, market: key.market.name, platform: key.platform.name, count: 1))
            }
            return true
        }
        if !kept.isEmpty {
            let horizon = try reader.horizon(business: business)
            var start = 0
            while start < kept.count {
                let chunk = Array(kept[start..<min(start + SummaryLine.chargesPerLine, kept.count)])
                try emit(SummaryLine.charges(business: name, horizon: horizon, charges: chunk).line())
                start += chunk.count
            }
        }
        let links = Keys.identity(business: business, userID: [])
        try reader.txn.forEach(reader.db.identities, from: .inclusive(links), to: .exclusive(Keys.identityByPhone(business: business, phone: []))) { key, value in
            let userID = String(utf8Bytes: Array(key[links.count...]))
            try emit(NativeDump.line(IdentityLink(business: name, userID: userID, phone: String(decoding: value, as: UTF8.self))))
            return true
        }
    }

    private static func exportConversation(_ key: ConversationKey, id: UInt32, reader: ConversationReader, emit: (String) throws -> Void) throws {
        let business = String(utf8Bytes: key.business)
        let customer = String(utf8Bytes: key.customer)
        let record = try reader.conversation(id: id)
        if let purged = record.purged {
            let horizon = try reader.horizon(business: key.business) ?? 0
            try emit(SummaryLine.conversation(business: business, customer: customer, horizon: horizon,
                                              purged: PurgedSummary(purged, business: business, customer: customer)).line())
        }
        let messages = try reader.messages(of: id)
            .map { (stored: StoredMessage(key: $0.key, record: $0.record, business: business, customer: customer), pricing: $0.record.pricing) }
            .sorted { $0.stored.position < $1.stored.position }
        for (stored, pricing) in messages {
            try emit(NativeDump.line(stored.message))
            if let status = stored.status {
                try emit(NativeDump.line(StatusUpdate(
                    business: business, messageID: stored.message.id, status: status, at: stored.statusAt ?? stored.message.at, pricing: pricing)))
            }
        }
        for (control, _) in try reader.controlsInRecordingOrder(of: id) {
            let actor: Actor = control.group == .businessBlock ? .business : .customer
            try emit(NativeDump.line(Control(business: business, customer: customer, actor: actor, action: control.action, at: control.at)))
        }
    }
}

extension ConversationReader {
    /// Calls `body` with each business that keeps charges without their messages or has user-id
    /// links, in byte order.
    func forEachBusiness(_ body: ([UInt8]) throws -> Void) throws {
        var businesses = Set<[UInt8]>()
        for database in [self.db.charges, self.db.identities] {
            let cursor = try self.txn.cursor(database)
            var entry = try cursor.first()
            while let found = entry {
                var r = ByteReader(found.key, database: database.name ?? "")
                let business = try r.ordered()
                businesses.insert(business)
                entry = try cursor.seek(atOrAfter: Keys.business(business) + [0xFF])
            }
        }
        for business in businesses.sorted(by: { $0.lexicographicallyPrecedes($1) }) { try body(business) }
    }
}

extension ConvoStore {
    /// Writes the whole store as a native dump to `file`, checking every write.
    package func export(to file: SystemFile) throws {
        var out = LineWriter(file)
        try self.export { line in try out.line(line) }
        try out.flush()
    }

    /// Writes the whole store as a native dump to the file at `path`, safely: into a new file beside
    /// it, readable only by its owner (a dump holds message bodies), flushed to disk, then renamed
    /// over `path`. A failed export leaves whatever was at `path` as it was.
    public func export(toFile path: String) throws {
        try SystemFile.replaceAtomically(path) { file in try self.export(to: file) }
    }
}
