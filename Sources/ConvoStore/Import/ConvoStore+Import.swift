import LMDB

extension ConvoStore {
    /// The checkpoint an earlier import left for an input, if any.
    func checkpoint(_ key: [UInt8]) throws -> Checkpoint? {
        try self.read { reader in
            try reader.txn.get(reader.db.checkpoints, key: key).map { try Checkpoint(decoding: $0) }
        }
    }
}
