import LMDB

extension ConvoStore {
    /// The checkpoint an earlier import left for an input: nil if there is none, `.some(nil)` if
    /// it was written by an older release.
    func checkpoint(_ key: [UInt8]) throws -> Checkpoint?? {
        try self.read { reader in
            try reader.txn.get(reader.db.checkpoints, key: key).map { try Checkpoint(decoding: $0) }
        }
    }
}
