import CLMDB

/// One key/value pair, borrowed from the memory map.
public typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

/// A position in a database, valid inside the transaction that made it.
///
/// Every move returns the entry it lands on, or `nil` when there is none.
/// The corresponding C type is `MDB_cursor`.
public final class Cursor {
    @usableFromInline let handle: OpaquePointer
    @usableFromInline let transaction: ReadTransaction
    /// The database the cursor walks.
    public let database: Database

    init(handle: OpaquePointer, transaction: ReadTransaction, database: Database) {
        self.handle = handle
        self.transaction = transaction
        self.database = database
        transaction.openCursors += 1
    }

    deinit {
        mdb_cursor_close(self.handle)
        self.transaction.openCursors -= 1
    }

    /// Steps forwards or backwards and calls `body` per entry until it returns false or a key passes
    /// `bound`: the hot loop of range walks, one `mdb_cursor_get` and one comparison per entry.
    /// Inlinable, so that the caller's `body` is inlined into the loop.
    @inlinable
    func walk(
        reverse: Bool, bound: UnsafeRawBufferPointer?, inclusive: Bool,
        _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool
    ) throws {
        self.transaction.checkLive()
        let op = reverse ? MDB_PREV : MDB_NEXT
        var k = MDB_val()
        var v = MDB_val()
        while true {
            let rc = mdb_cursor_get(self.handle, &k, &v, op)
            if rc == MDB_NOTFOUND { return }
            try check(rc, "mdb_cursor_get \(self.database.name ?? "(main)")")
            let key = k.buffer
            if let bound {
                let c = compareBytes(key, bound)
                if reverse ? (inclusive ? c < 0 : c <= 0) : (inclusive ? c > 0 : c >= 0) { return }
            }
            guard try body(key, v.buffer) else { return }
        }
    }

    @inline(__always)
    func move(_ op: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil) throws -> Entry? {
        self.transaction.checkLive()
        var k = key.map { MDB_val($0) } ?? MDB_val()
        var v = MDB_val()
        let rc = mdb_cursor_get(self.handle, &k, &v, op)
        if rc == MDB_NOTFOUND { return nil }
        try check(rc, "mdb_cursor_get \(self.database.label)")
        return (k.buffer, v.buffer)
    }

    /// The first entry. `MDB_FIRST`.
    public func first() throws -> Entry? { try self.move(MDB_FIRST) }
    /// The last entry. `MDB_LAST`.
    public func last() throws -> Entry? { try self.move(MDB_LAST) }
    /// The next entry (the next value of the key first, in a DUPSORT database). `MDB_NEXT`.
    @inline(__always)
    public func next() throws -> Entry? { try self.move(MDB_NEXT) }
    /// The previous entry. `MDB_PREV`.
    @inline(__always)
    public func previous() throws -> Entry? { try self.move(MDB_PREV) }
    /// The entry under the cursor. `MDB_GET_CURRENT`.
    public func current() throws -> Entry? { try self.move(MDB_GET_CURRENT) }
    /// The first entry of the next key, skipping the other values of this one. `MDB_NEXT_NODUP`.
    public func nextKey() throws -> Entry? { try self.move(MDB_NEXT_NODUP) }
    /// The next value of the current key only. `MDB_NEXT_DUP`.
    public func nextDuplicate() throws -> Entry? { try self.move(MDB_NEXT_DUP) }
    /// The last value of the current key. `MDB_LAST_DUP`.
    public func lastDuplicate() throws -> Entry? { try self.move(MDB_LAST_DUP) }
    /// The previous value of the current key, in a DUPSORT database. `MDB_PREV_DUP`.
    public func previousDuplicate() throws -> Entry? { try self.move(MDB_PREV_DUP) }

    /// The first entry whose key is `key` or sorts after it. `MDB_SET_RANGE`.
    public func seek(atOrAfter key: UnsafeRawBufferPointer) throws -> Entry? { try self.move(MDB_SET_RANGE, key: key) }
    /// The first entry whose key is `key` or sorts after it. `MDB_SET_RANGE`.
    public func seek(atOrAfter key: [UInt8]) throws -> Entry? { try key.withUnsafeBytes { try self.seek(atOrAfter: $0) } }
    /// The entry whose key is exactly `key` (its first value in a DUPSORT database). `MDB_SET_KEY`.
    public func seek(exactly key: [UInt8]) throws -> Entry? { try key.withUnsafeBytes { try self.move(MDB_SET_KEY, key: $0) } }

    /// The last entry whose key is `key` or sorts before it.
    public func seek(atOrBefore key: UnsafeRawBufferPointer) throws -> Entry? {
        guard let found = try self.seek(atOrAfter: key) else { return try self.last() }
        if compareBytes(found.key, key) > 0 { return try self.previous() }
        if self.database.flags.contains(.dupSort) { return try self.lastDuplicate() }
        return found
    }

    /// In a DUPSORT database, the first value of `key` that is `value` or sorts after it.
    /// `MDB_GET_BOTH_RANGE`.
    public func seek(key: [UInt8], atOrAfterValue value: [UInt8]) throws -> Entry? {
        self.transaction.checkLive()
        return try key.withUnsafeBytes { k in
            try value.withUnsafeBytes { v in
                var kv = MDB_val(k)
                var vv = MDB_val(v)
                let rc = mdb_cursor_get(self.handle, &kv, &vv, MDB_GET_BOTH_RANGE)
                if rc == MDB_NOTFOUND { return nil }
                try check(rc, "mdb_cursor_get \(self.database.label)")
                return (kv.buffer, vv.buffer)
            }
        }
    }

    /// The number of values under the current key (1 outside DUPSORT databases). `mdb_cursor_count`.
    public func valueCount() throws -> Int {
        self.transaction.checkLive()
        var count = 0
        try check(mdb_cursor_count(self.handle, &count), "mdb_cursor_count \(self.database.label)")
        return count
    }

    /// Deletes the entry under the cursor (all its values with `allValues` in a DUPSORT database).
    /// The cursor must belong to a ``WriteTransaction``. `mdb_cursor_del`.
    public func deleteCurrent(allValues: Bool = false) throws {
        self.transaction.checkLive()
        precondition(self.transaction is WriteTransaction, "deleteCurrent needs a cursor of a WriteTransaction")
        try check(mdb_cursor_del(self.handle, allValues ? UInt32(MDB_NODUPDATA) : 0), "mdb_cursor_del \(self.database.label)")
    }
}

/// One end of a key range.
public enum KeyBound: Sendable, Equatable {
    /// No bound: the range runs to the first (or last) key.
    case unbounded
    /// The range includes this key.
    case inclusive([UInt8])
    /// The range stops short of this key.
    case exclusive([UInt8])
}

/// The entries between two ``KeyBound``s, forwards or backwards; made by ``ReadTransaction/entries(_:from:to:reverse:)``.
///
/// Single pass. Entries are borrowed from the memory map and valid inside the transaction.
public final class KeyRangeSequence: Sequence, IteratorProtocol {
    @usableFromInline let cursor: Cursor
    private let lower: KeyBound
    private let upper: KeyBound
    @usableFromInline let reverse: Bool
    /// The bound iteration runs towards, unpacked once: checking it is the only per-step work.
    @usableFromInline let farBound: [UInt8]?
    @usableFromInline let farInclusive: Bool
    @usableFromInline var started = false
    @usableFromInline var done = false
    /// The error that ended the iteration early, if any.
    public private(set) var error: (any Error)?

    init(cursor: Cursor, lower: KeyBound, upper: KeyBound, reverse: Bool) {
        self.cursor = cursor
        self.lower = lower
        self.upper = upper
        self.reverse = reverse
        switch reverse ? lower : upper {
        case .unbounded: (self.farBound, self.farInclusive) = (nil, false)
        case .inclusive(let key): (self.farBound, self.farInclusive) = (key, true)
        case .exclusive(let key): (self.farBound, self.farInclusive) = (key, false)
        }
    }

    /// Throws the error that ended the iteration, if one did.
    public func finish() throws {
        if let error { throw error }
    }

    /// The next entry in range, or `nil` at the end (or on an error, kept in ``error``).
    public func next() -> Entry? {
        guard !self.done else { return nil }
        do {
            let entry = try self.started ? self.step() : self.start()
            self.started = true
            guard let entry, self.inRange(entry.key) else {
                self.done = true
                return nil
            }
            return entry
        } catch {
            self.error = error
            self.done = true
            return nil
        }
    }

    /// Calls `body` for each entry in range until it returns `false`; errors are thrown, not kept.
    @inlinable
    public func forEach(_ body: (_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool) throws {
        precondition(!self.started, "forEach on a range that was already iterated")
        self.started = true
        defer { self.done = true }
        guard let first = try self.start() else { return }
        let (reverse, inclusive) = (self.reverse, self.farInclusive)
        guard let bound = self.farBound else {
            guard try body(first.key, first.value) else { return }
            try self.cursor.walk(reverse: reverse, bound: nil, inclusive: inclusive, body)
            return
        }
        try bound.withUnsafeBytes { bound in
            guard Self.within(first.key, bound, inclusive: inclusive, reverse: reverse), try body(first.key, first.value) else { return }
            try self.cursor.walk(reverse: reverse, bound: bound, inclusive: inclusive, body)
        }
    }

    @inline(__always)
    private func step() throws -> Entry? {
        try self.reverse ? self.cursor.previous() : self.cursor.next()
    }

    @usableFromInline
    func start() throws -> Entry? {
        if self.reverse {
            switch self.upper {
            case .unbounded:
                return try self.cursor.last()
            case .inclusive(let key):
                return try key.withUnsafeBytes { try self.cursor.seek(atOrBefore: $0) }
            case .exclusive(let key):
                return try key.withUnsafeBytes { key in
                    guard try self.cursor.seek(atOrAfter: key) != nil else { return try self.cursor.last() }
                    return try self.cursor.previous()
                }
            }
        }
        switch self.lower {
        case .unbounded:
            return try self.cursor.first()
        case .inclusive(let key):
            return try self.cursor.seek(atOrAfter: key)
        case .exclusive(let key):
            return try key.withUnsafeBytes { key in
                var entry = try self.cursor.seek(atOrAfter: key)
                while let found = entry, compareBytes(found.key, key) == 0 { entry = try self.cursor.nextKey() }
                return entry
            }
        }
    }

    @inline(__always)
    private func inRange(_ key: UnsafeRawBufferPointer) -> Bool {
        // Only the far end needs checking: the start position already honours the near bound.
        guard let bound = self.farBound else { return true }
        return bound.withUnsafeBytes { Self.within(key, $0, inclusive: self.farInclusive, reverse: self.reverse) }
    }

    @inlinable
    static func within(_ key: UnsafeRawBufferPointer, _ bound: UnsafeRawBufferPointer, inclusive: Bool, reverse: Bool) -> Bool {
        let c = compareBytes(key, bound)
        if reverse { return inclusive ? c >= 0 : c > 0 }
        return inclusive ? c <= 0 : c < 0
    }
}
