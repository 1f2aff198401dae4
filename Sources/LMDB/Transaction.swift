import CLMDB

/// A read-only snapshot of the environment, valid only inside ``Environment/read(_:)``
/// (or, as a ``WriteTransaction``, inside ``Environment/write(_:)``).
///
/// Buffers it returns point into the memory map (zero copy) and are valid until the transaction ends
/// (in a write transaction, until the next change to that database).
/// The corresponding C type is `MDB_txn`.
public class ReadTransaction {
    /// The live MDB_txn; inside ``WriteTransaction/nested(_:)`` it is the child transaction.
    var handle: OpaquePointer
    /// The environment the transaction belongs to.
    public let environment: Environment
    @usableFromInline private(set) var isLive = true
    var openCursors = 0

    init(handle: OpaquePointer, environment: Environment) {
        self.handle = handle
        self.environment = environment
    }

    func end() {
        precondition(self.openCursors == 0, "a Cursor outlived its transaction; keep cursors inside the transaction closure")
        self.isLive = false
    }

    @inlinable
    final func checkLive() {
        precondition(self.isLive, "a transaction was used outside its closure")
    }

    /// The value for `key`, borrowed from the map, or `nil` if there is none.
    ///
    /// The corresponding C function is `mdb_get`.
    @inline(__always)
    public final func get(_ database: Database, key: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        self.checkLive()
        var k = MDB_val(key)
        var v = MDB_val()
        let rc = mdb_get(self.handle, database.handle, &k, &v)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_get \(database.label)")
        return v.buffer
    }

    /// The value for `key`, borrowed from the map, or `nil` if there is none.
    @inline(__always)
    public final func get(_ database: Database, key: [UInt8]) throws -> UnsafeRawBufferPointer? {
        try key.withUnsafeBytes { try self.get(database, key: $0) }
    }

    /// A copy of the value for `key`, or `nil` if there is none.
    public final func value(_ database: Database, key: [UInt8]) throws -> [UInt8]? {
        try self.get(database, key: key).map { Array($0) }
    }

    /// Whether `key` is present.
    public final func contains(_ database: Database, key: [UInt8]) throws -> Bool {
        try self.get(database, key: key) != nil
    }

    /// A new cursor over `database`, valid inside this transaction.
    ///
    /// The corresponding C function is `mdb_cursor_open`.
    public final func cursor(_ database: Database) throws -> Cursor {
        self.checkLive()
        var raw: OpaquePointer?
        try check(mdb_cursor_open(self.handle, database.handle, &raw), "mdb_cursor_open \(database.label)")
        return Cursor(handle: raw!, transaction: self, database: database)
    }

    /// The entries of `database` between two bounds, forwards or backwards, as a single-pass sequence.
    ///
    /// An error met while iterating ends the sequence; ``KeyRangeSequence/finish()`` rethrows it.
    public final func entries(
        _ database: Database, from lower: KeyBound = .unbounded, to upper: KeyBound = .unbounded,
        reverse: Bool = false
    ) throws -> KeyRangeSequence {
        KeyRangeSequence(cursor: try self.cursor(database), lower: lower, upper: upper, reverse: reverse)
    }

    /// Calls `body` for each entry between two bounds in key order (or reverse order) until it returns `false`.
    @inlinable
    public final func forEach(
        _ database: Database, from lower: KeyBound = .unbounded, to upper: KeyBound = .unbounded,
        reverse: Bool = false, _ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        try self.entries(database, from: lower, to: upper, reverse: reverse).forEach(body)
    }

    /// Counts and page usage of `database`.
    ///
    /// The corresponding C function is `mdb_stat`.
    public final func statistics(_ database: Database) throws -> DatabaseStatistics {
        self.checkLive()
        var stat = MDB_stat()
        try check(mdb_stat(self.handle, database.handle, &stat), "mdb_stat \(database.label)")
        return DatabaseStatistics(
            entries: stat.ms_entries, depth: Int(stat.ms_depth), branchPages: stat.ms_branch_pages,
            leafPages: stat.ms_leaf_pages, overflowPages: stat.ms_overflow_pages, pageSize: Int(stat.ms_psize))
    }

    /// LMDB's free-page list in this snapshot: the pages that old commits freed and later commits
    /// reuse. LMDB 0.9 writes back, in the commit that reuses them, the part of the list it read, so
    /// a long list (a large commit's freed pages) costs commits until it is used up; a compacting
    /// copy (``Environment/copy(toDescriptor:compact:)``) leaves it empty.
    ///
    /// Walks the list's records (`FREE_DBI`), reading the count at the head of each.
    public final func freePageList() throws -> FreePageList {
        let freePages = Database(handle: 0, name: "(free pages)", flags: [])  // FREE_DBI
        let stat = try self.statistics(freePages)
        var list = FreePageList(records: 0, pages: 0, listBytes: stat.bytes, pageSize: stat.pageSize)
        let cursor = try self.cursor(freePages)
        var record = try cursor.first()
        while let (_, ids) = record {
            // An MDB_IDL: the count, then the page numbers, each a size_t.
            list.records += 1
            list.pages += Int(ids.loadUnaligned(as: UInt.self))
            record = try cursor.next()
        }
        return list
    }

    /// The id of this transaction's snapshot.
    ///
    /// The corresponding C function is `mdb_txn_id`.
    public final var id: Int { mdb_txn_id(self.handle) }
}

/// A read-write transaction, valid only inside ``Environment/write(_:)``. It can read everything a
/// ``ReadTransaction`` can, including its own uncommitted changes.
public final class WriteTransaction: ReadTransaction {
    /// Set when LMDB reported `MDB_MAP_FULL`: the environment grows the map and runs the closure again,
    /// even if the closure swallowed the error.
    private(set) var mapIsFull = false

    @inline(__always)
    private func checkWrite(_ rc: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
        if rc == MDB_MAP_FULL { self.mapIsFull = true }
        try check(rc, operation())
    }

    /// Stores `value` under `key`. Returns `false` (and changes nothing) when ``PutFlags/noOverwrite`` or
    /// ``PutFlags/noDuplicateData`` found the key or pair already there.
    ///
    /// The corresponding C function is `mdb_put`.
    @discardableResult
    @inline(__always)
    public func put(_ database: Database, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: PutFlags = []) throws -> Bool {
        self.checkLive()
        var k = MDB_val(key)
        var v = MDB_val(value)
        let rc = mdb_put(self.handle, database.handle, &k, &v, flags.rawValue)
        if rc == MDB_KEYEXIST, !flags.isDisjoint(with: [.noOverwrite, .noDuplicateData]) { return false }
        try self.checkWrite(rc, "mdb_put \(database.label)")
        return true
    }

    /// Stores `value` under `key`; see ``put(_:key:value:flags:)-(_,UnsafeRawBufferPointer,_,_)``.
    @discardableResult
    public func put(_ database: Database, key: [UInt8], value: [UInt8], flags: PutFlags = []) throws -> Bool {
        try key.withUnsafeBytes { k in try value.withUnsafeBytes { v in try self.put(database, key: k, value: v, flags: flags) } }
    }

    /// Reserves `count` bytes for the value of `key` and lets `fill` write them in place (no copy).
    /// Returns `false` if ``PutFlags/noOverwrite`` found the key. Not for ``DatabaseFlags/dupSort`` databases.
    ///
    /// The corresponding C call is `mdb_put` with `MDB_RESERVE`.
    @discardableResult
    public func reserve(
        _ database: Database, key: UnsafeRawBufferPointer, count: Int, flags: PutFlags = [],
        _ fill: (UnsafeMutableRawBufferPointer) throws -> Void
    ) throws -> Bool {
        self.checkLive()
        var k = MDB_val(key)
        var v = MDB_val(mv_size: count, mv_data: nil)
        let rc = mdb_put(self.handle, database.handle, &k, &v, flags.rawValue | UInt32(MDB_RESERVE))
        if rc == MDB_KEYEXIST, flags.contains(.noOverwrite) { return false }
        try self.checkWrite(rc, "mdb_put (reserve) \(database.label)")
        try fill(UnsafeMutableRawBufferPointer(start: v.mv_data, count: count))
        return true
    }

    /// Deletes `key` (every value of it in a DUPSORT database, or only `value` when given).
    /// Returns `false` if there was nothing to delete.
    ///
    /// The corresponding C function is `mdb_del`.
    @discardableResult
    public func delete(_ database: Database, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer? = nil) throws -> Bool {
        self.checkLive()
        var k = MDB_val(key)
        let rc: Int32
        if let value {
            var v = MDB_val(value)
            rc = mdb_del(self.handle, database.handle, &k, &v)
        } else {
            rc = mdb_del(self.handle, database.handle, &k, nil)
        }
        if rc == MDB_NOTFOUND { return false }
        try self.checkWrite(rc, "mdb_del \(database.label)")
        return true
    }

    /// Deletes `key`; see ``delete(_:key:value:)-(_,UnsafeRawBufferPointer,_)``.
    @discardableResult
    public func delete(_ database: Database, key: [UInt8], value: [UInt8]? = nil) throws -> Bool {
        try key.withUnsafeBytes { k in
            if let value {
                return try value.withUnsafeBytes { v in try self.delete(database, key: k, value: v) }
            }
            return try self.delete(database, key: k, value: nil)
        }
    }

    /// Removes every entry of `database` (keeps the database).
    ///
    /// The corresponding C call is `mdb_drop(txn, dbi, 0)`.
    public func removeAll(_ database: Database) throws {
        self.checkLive()
        try self.checkWrite(mdb_drop(self.handle, database.handle, 0), "mdb_drop \(database.label)")
    }

    /// Runs `body` in a nested transaction: what it changes joins this transaction when it returns,
    /// and is undone when it throws, while this transaction goes on. Use it to make a group of
    /// changes all-or-nothing inside a larger commit. Cursors must not outlive `body`.
    ///
    /// The corresponding C functions are `mdb_txn_begin` with this transaction as the parent,
    /// `mdb_txn_commit` and `mdb_txn_abort`.
    @discardableResult
    public func nested<T>(_ body: () throws -> T) throws -> T {
        self.checkLive()
        precondition(self.openCursors == 0, "a nested transaction began while a cursor of its parent was open")
        var child: OpaquePointer?
        try self.checkWrite(mdb_txn_begin(self.environment.handle, self.handle, 0, &child), "mdb_txn_begin (nested)")
        let parent = self.handle
        self.handle = child!
        defer { self.handle = parent }
        let result: T
        do {
            result = try body()
        } catch {
            mdb_txn_abort(child)
            throw error
        }
        precondition(self.openCursors == 0, "a Cursor outlived its nested transaction")
        try self.checkWrite(mdb_txn_commit(child), "mdb_txn_commit (nested)")
        return result
    }

    /// Opens (and with ``DatabaseFlags/create`` creates) a named database inside this transaction.
    ///
    /// The corresponding C function is `mdb_dbi_open`.
    public func openDatabase(_ name: String?, flags: DatabaseFlags = [.create]) throws -> Database {
        self.checkLive()
        var dbi = MDB_dbi()
        try self.checkWrite(mdb_dbi_open(self.handle, name, flags.rawValue, &dbi), "mdb_dbi_open \(name ?? "(main)")")
        return Database(handle: dbi, name: name, flags: flags)
    }
}

extension MDB_val {
    @inlinable
    init(_ buffer: UnsafeRawBufferPointer) {
        self.init(mv_size: buffer.count, mv_data: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
    }

    @inlinable
    var buffer: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: self.mv_data, count: self.mv_size)
    }
}
