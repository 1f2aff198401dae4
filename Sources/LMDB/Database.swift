import CLMDB

/// A named database inside an ``Environment``: a sorted map from byte keys to byte values.
///
/// The handle is valid in every transaction of the environment that opened it.
/// The corresponding C type is `MDB_dbi`.
public struct Database: Sendable, Hashable {
    /// The LMDB handle.
    public let handle: MDB_dbi
    /// The database's name, or `nil` for the main database.
    public let name: String?
    /// The flags it was opened with.
    public let flags: DatabaseFlags

    var label: String { self.name ?? "(main)" }
}

/// Flags for ``Environment/openDatabase(_:flags:)``.
public struct DatabaseFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `MDB_CREATE`: create the database if it does not exist.
    public static let create = DatabaseFlags(rawValue: UInt32(MDB_CREATE))
    /// `MDB_DUPSORT`: a key may hold several values, kept sorted.
    public static let dupSort = DatabaseFlags(rawValue: UInt32(MDB_DUPSORT))
    /// `MDB_DUPFIXED`: with ``dupSort``, all values of a key have one size.
    public static let dupFixed = DatabaseFlags(rawValue: UInt32(MDB_DUPFIXED))
    /// `MDB_REVERSEKEY`: keys compare from their last byte.
    public static let reverseKey = DatabaseFlags(rawValue: UInt32(MDB_REVERSEKEY))
}

/// Flags for ``WriteTransaction/put(_:key:value:flags:)``.
public struct PutFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    /// `MDB_NOOVERWRITE`: leave an existing key alone (`put` returns `false`).
    public static let noOverwrite = PutFlags(rawValue: UInt32(MDB_NOOVERWRITE))
    /// `MDB_NODUPDATA`: in a ``DatabaseFlags/dupSort`` database, leave an existing pair alone (`put` returns `false`).
    public static let noDuplicateData = PutFlags(rawValue: UInt32(MDB_NODUPDATA))
    /// `MDB_APPEND`: the key sorts after every key already there (fast bulk loading; `MDB_KEYEXIST` otherwise).
    public static let append = PutFlags(rawValue: UInt32(MDB_APPEND))
    /// `MDB_APPENDDUP`: like ``append`` for the values of one key in a ``DatabaseFlags/dupSort`` database.
    public static let appendDuplicate = PutFlags(rawValue: UInt32(MDB_APPENDDUP))
}

/// LMDB's free-page list (``ReadTransaction/freePageList()``).
public struct FreePageList: Sendable, Equatable {
    /// Its records: one per commit whose freed pages are not all reused yet (LMDB may split one).
    public var records: Int
    /// The pages on it, free for later commits.
    public var pages: Int
    /// The bytes of the list's own pages (its records), as against ``freeBytes``, the pages it lists.
    public var listBytes: Int
    /// The environment's page size.
    public var pageSize: Int

    /// The bytes of the free pages.
    public var freeBytes: Int { self.pages * self.pageSize }
}

/// Counts from `mdb_stat`.
public struct DatabaseStatistics: Sendable, Equatable {
    /// Key/value pairs (for DUPSORT, every value counts).
    public var entries: Int
    /// Depth of the B+tree.
    public var depth: Int
    /// Branch pages.
    public var branchPages: Int
    /// Leaf pages.
    public var leafPages: Int
    /// Overflow pages (values larger than a page).
    public var overflowPages: Int
    /// Page size in bytes.
    public var pageSize: Int

    /// Bytes the database's pages take.
    public var bytes: Int { (self.branchPages + self.leafPages + self.overflowPages) * self.pageSize }
}
