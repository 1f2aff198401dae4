import LMDB

/// Store-wide counts and sizes.
public struct StoreStatistics: Sendable, Hashable {
    /// Entries per named database.
    public var entries: [String: Int]
    /// Bytes of pages per named database.
    public var bytes: [String: Int]
    /// The map size (the most the data file may grow to before the map doubles).
    public var mapSize: Int
    /// Bytes of the data file in use.
    public var usedBytes: Int
    /// Bytes of the used part that are free (LMDB's free-page list), for later commits to reuse.
    public var freeBytes: Int
    /// Bytes of the free-page list itself: the most a small commit may write on top of its own pages
    /// while it reuses the list (``ConvoStore/open(at:settings:options:)`` warns when it is long).
    public var freeListBytes: Int
    /// The store's settings.
    public var settings: StoreSettings
    /// How long the store keeps history (R9); nil: everything.
    public var retentionMillis: Int64?

    /// Conversations stored.
    public var conversations: Int { self.entries["conversations"] ?? 0 }
    /// Messages stored (the `messages` database also holds one record per conversation).
    public var messages: Int { (self.entries["messages"] ?? 0) - self.conversations }
}

extension ConvoStore {
    /// Counts and sizes of every part of the store.
    public func statistics() throws -> StoreStatistics {
        let info = try self.environment.info()
        return try self.read { store in
            let free = try store.txn.freePageList()
            var entries: [String: Int] = [:]
            var bytes: [String: Int] = [:]
            for database in store.db.all {
                let stat = try store.txn.statistics(database)
                entries[database.name ?? "main"] = stat.entries
                bytes[database.name ?? "main"] = stat.bytes
            }
            return StoreStatistics(
                entries: entries, bytes: bytes, mapSize: info.mapSize, usedBytes: (info.lastPageNumber + 1) * info.pageSize,
                freeBytes: free.freeBytes, freeListBytes: free.listBytes, settings: self.settings, retentionMillis: try store.reader.retention())
        }
    }
}
