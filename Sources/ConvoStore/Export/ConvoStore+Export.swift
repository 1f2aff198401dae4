import LMDB

extension ConvoStore {
    /// Writes the whole store as native dump lines (without newlines), header first, in a
    /// deterministic order: conversations by (business, customer); in each, messages by time (each
    /// followed by its status), then controls by time in recording order; last, statuses still
    /// waiting for their message. Importing the lines into an empty store gives the same state.
    /// A damaged store (its pages, checked first) throws ``ConvoStoreError/corruptRecord(database:detail:)``
    /// before anything is written.
    public func export(_ emit: (String) throws -> Void) throws {
        try self.read { store in
            let pages = try store.txn.verifyPages(maxProblems: 5)
            guard pages.isSound else {
                throw ConvoStoreError.corruptRecord(database: "data.mdb", detail: "damaged pages: " + pages.problems.joined(separator: "; "))
            }
            try emit(NativeDump.header)
            let reader = store.reader
            try reader.forEachConversation { key, id in
                let business = String(utf8Bytes: key.business)
                let customer = String(utf8Bytes: key.customer)
                let messages = try reader.messages(of: id)
                    .map { StoredMessage(key: $0.key, record: $0.record, business: business, customer: customer) }
                    .sorted { $0.position < $1.position }
                for stored in messages {
                    try emit(NativeDump.line(stored.message))
                    if let status = stored.status {
                        try emit(NativeDump.line(StatusUpdate(business: business, messageID: stored.message.id, status: status, at: stored.statusAt ?? stored.message.at)))
                    }
                }
                for (control, _) in try reader.controlsInRecordingOrder(of: id) {
                    let actor: Actor = control.group == .businessBlock ? .business : .customer
                    try emit(NativeDump.line(Control(business: business, customer: customer, actor: actor, action: control.action, at: control.at)))
                }
            }
            try reader.forEachPendingStatus { business, id, pending in
                try emit(NativeDump.line(StatusUpdate(business: business, messageID: id, status: pending.status, at: pending.at)))
            }
        }
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
