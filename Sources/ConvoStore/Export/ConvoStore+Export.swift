import LMDB

extension ConvoStore {
    /// Writes the whole store as native dump lines (without newlines), header first, in a
    /// deterministic order: conversations by (business, customer); in each, messages by time (each
    /// followed by its status), then controls by time in recording order; last, statuses still
    /// waiting for their message. Importing the lines into an empty store gives the same state.
    public func export(_ emit: (String) throws -> Void) throws {
        try emit(NativeDump.header)
        try self.environment.read { txn in
            try txn.forEach(self.databases.conversations) { key, value in
                var r = ByteReader(key, database: "conversations")
                let business = String(utf8Bytes: try r.ordered())
                let customer = String(utf8Bytes: try r.ordered())
                let id = try ConversationReader.id(value)
                var messages: [StoredMessage] = []
                let range = Keys.messages(of: id)
                try txn.forEach(self.databases.messages, from: range.from, to: range.to) { k, v in
                    messages.append(try StoreReader.storedMessage(key: k, value: v, business: business, customer: customer))
                    return true
                }
                messages.sort { $0.position < $1.position }
                for stored in messages {
                    try emit(NativeDump.line(stored.message))
                    if let status = stored.status {
                        try emit(NativeDump.line(StatusUpdate(business: business, messageID: stored.message.id, status: status, at: stored.statusAt ?? stored.message.at)))
                    }
                }
                var controls: [(at: Int64, seq: UInt64, control: Control)] = []
                let prefix = BigEndian.bytes(id)
                try txn.forEach(self.databases.controls, from: .inclusive(prefix), to: .exclusive(prefix + [0xFF])) { k, v in
                    var kr = ByteReader(k, database: "controls")
                    _ = try kr.u32()
                    let group = try kr.u8()
                    let at = try kr.time()
                    let seq = try kr.u64()
                    guard v.count == 1, let action = ControlAction(rawValue: v[0]) else {
                        throw ConvoStoreError.corruptRecord(database: "controls", detail: "bad action")
                    }
                    let actor: Actor = group == ControlGroup.businessBlock.rawValue ? .business : .customer
                    controls.append((at, seq, Control(business: business, customer: customer, actor: actor, action: action, at: at)))
                    return true
                }
                controls.sort { ($0.at, $0.seq) < ($1.at, $1.seq) }
                for entry in controls { try emit(NativeDump.line(entry.control)) }
                return true
            }
            try txn.forEach(self.databases.pendingStatus) { key, value in
                var r = ByteReader(key, database: "pendingStatus")
                let business = String(utf8Bytes: try r.ordered())
                let id = String(utf8Bytes: Array(UnsafeRawBufferPointer(rebasing: key[r.offset...])))
                let pending = try PendingStatus(decoding: value)
                try emit(NativeDump.line(StatusUpdate(business: business, messageID: id, status: pending.status, at: pending.at)))
                return true
            }
        }
    }
}
