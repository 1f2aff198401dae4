import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// How commits reach the disk.
public enum Durability: Sendable, Equatable {
    /// Every commit is flushed (`fsync`) before it returns: an acknowledged commit survives kill -9
    /// and power loss. The default.
    case durable
    /// `MDB_NOMETASYNC`, faster and *not durable against power loss*: the last commits may be lost,
    /// but the store stays consistent. Survives kill -9.
    case unsafeNoMetaSync
    /// `MDB_NOSYNC`, fastest and *not durable against power loss*: the operating system decides
    /// when data reaches the disk. Survives kill -9, not a crash of the machine.
    case unsafeNoSync
}

/// Settings for opening an ``Environment``.
public struct EnvironmentOptions: Sendable, Equatable {
    /// The initial map size in bytes. The map grows by doubling when full, up to ``maxMapSize``.
    public var mapSize: Int = 64 << 20
    /// The largest the map may grow to; past it a write fails with ``LMDBError/Code/mapSizeLimitReached(mapSize:maxMapSize:)``.
    public var maxMapSize: Int = 1 << 40
    /// The number of reader slots (concurrent read transactions across all processes).
    public var maxReaders: UInt32 = 126
    /// The number of named databases.
    public var maxDatabases: UInt32 = 32
    /// Commit durability; only ``Durability/durable`` survives power loss.
    public var durability: Durability = .durable
    /// `MDB_WRITEMAP`: write through a writable memory map. Faster writes; a stray pointer can damage the file.
    public var writeMap: Bool = false
    /// `MDB_RDONLY`: open for reading only.
    public var readOnly: Bool = false
    /// `MDB_NORDAHEAD`: no read-ahead; helps random reads when the store is larger than memory.
    public var noReadAhead: Bool = false
    /// Permissions of the data and lock files, and (with the owner's execute bits) of a directory created for them.
    public var fileMode: mode_t = 0o600

    /// The default options: 64 MiB growing to 1 TiB, durable.
    public init() {}
}

/// An open LMDB environment: one directory holding `data.mdb` and `lock.mdb`.
///
/// There is one `Environment` per path per process: ``open(path:options:)`` returns the one already
/// open. Transactions are closures: ``read(_:)`` and ``write(_:)``. Read transactions are reused
/// (`mdb_txn_reset` / `mdb_txn_renew`) and any number of threads may read at once; one write
/// transaction runs at a time (LMDB's writer lock, shared with other processes).
///
/// The corresponding C type is `MDB_env`.
public final class Environment: @unchecked Sendable {
    // @unchecked: the MDB_env is thread-safe with MDB_NOTLS; every mutable field below is behind `state`
    // or the resize lock.

    /// The canonical path of the environment's directory.
    public let path: String
    /// The options it was opened with.
    public let options: EnvironmentOptions

    let handle: OpaquePointer
    private let state = Locked(State())
    /// Held shared by every transaction and exclusively while the map is resized: `mdb_env_set_mapsize`
    /// must not run while a transaction of this process is live.
    private let resizeLock: UnsafeMutablePointer<pthread_rwlock_t>
    /// How many resize-lock holds the current thread has, so that a read inside a write does not lock twice.
    private var lockDepthKey = pthread_key_t()

    private struct State {
        var writerThread: pthread_t?
        var idleReadTransactions: [IdleReadTransaction] = []
        var mapGrowths = 0
    }

    private static let registry = Locked<[String: WeakEnvironment]>([:])

    /// Opens the environment at `path` (a directory, created 0700 if missing), or returns the one
    /// this process already has open there.
    ///
    /// Runs `mdb_reader_check` to free reader slots left by dead processes.
    /// The corresponding C functions are `mdb_env_create`, `mdb_env_set_mapsize`,
    /// `mdb_env_set_maxreaders`, `mdb_env_set_maxdbs` and `mdb_env_open`.
    /// - Throws: ``LMDBError`` with ``LMDBError/Code/alreadyOpen(path:)`` if the path is open with other options.
    public static func open(path: String, options: EnvironmentOptions = .init()) throws -> Environment {
        if !options.readOnly {
            let dirMode = options.fileMode | ((options.fileMode & 0o444) >> 2)
            if mkdir(path, dirMode) != 0 && errno != EEXIST {
                throw LMDBError(returnCode: errno, operation: "mkdir \(path)")
            }
        }
        guard let resolved = realpath(path, nil) else {
            throw LMDBError(returnCode: errno, operation: "realpath \(path)")
        }
        let canonical = String(cString: resolved)
        free(resolved)

        return try registry.withLock { (registry: inout [String: WeakEnvironment]) throws -> Environment in
            if let open = registry[canonical]?.environment {
                guard open.options == options else {
                    throw LMDBError(
                        .alreadyOpen(path: canonical), operation: "Environment.open",
                        message: "\(canonical) is already open in this process with other options; use the open Environment")
                }
                return open
            }
            let environment = try Environment(canonicalPath: canonical, options: options)
            registry[canonical] = WeakEnvironment(environment: environment)
            return environment
        }
    }

    private init(canonicalPath: String, options: EnvironmentOptions) throws {
        var env: OpaquePointer?
        try check(mdb_env_create(&env), "mdb_env_create")
        guard let env else { throw LMDBError(.invalid, operation: "mdb_env_create", message: "no environment returned") }
        do {
            try check(mdb_env_set_maxreaders(env, options.maxReaders), "mdb_env_set_maxreaders")
            try check(mdb_env_set_maxdbs(env, options.maxDatabases), "mdb_env_set_maxdbs")
            try check(mdb_env_set_mapsize(env, options.mapSize), "mdb_env_set_mapsize")
            var flags = UInt32(MDB_NOTLS)
            switch options.durability {
            case .durable: break
            case .unsafeNoMetaSync: flags |= UInt32(MDB_NOMETASYNC)
            case .unsafeNoSync: flags |= UInt32(MDB_NOSYNC)
            }
            if options.writeMap { flags |= UInt32(MDB_WRITEMAP) }
            if options.readOnly { flags |= UInt32(MDB_RDONLY) }
            if options.noReadAhead { flags |= UInt32(MDB_NORDAHEAD) }
            if let reason = Self.reasonNotToOpen(directory: canonicalPath) {
                throw LMDBError(.corrupted, operation: "mdb_env_open \(canonicalPath)", message: reason)
            }
            if !options.readOnly { try Self.allocateLockFile(directory: canonicalPath, maxReaders: options.maxReaders, mode: options.fileMode) }
            try check(mdb_env_open(env, canonicalPath, flags, options.fileMode), "mdb_env_open \(canonicalPath)")
            var dead: Int32 = 0
            try check(mdb_reader_check(env, &dead), "mdb_reader_check")
        } catch {
            mdb_env_close(env)
            throw error
        }
        self.handle = env
        self.path = canonicalPath
        self.options = options
        self.resizeLock = .allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        // Writer preference, so a map resize is not starved by a steady stream of readers.
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        pthread_rwlock_init(self.resizeLock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
        pthread_key_create(&self.lockDepthKey, nil)
    }

    deinit {
        let idle = self.state.withLock { state in
            defer { state.idleReadTransactions.removeAll() }
            return state.idleReadTransactions
        }
        for txn in idle { mdb_txn_abort(txn.handle) }
        // Close under the registry's lock: an `open` of the same path waits until this one is gone
        // (two MDB_envs on one file in one process would share, and drop, each other's locks).
        Environment.registry.withLock { registry in
            mdb_env_close(self.handle)
            if let entry = registry[self.path], entry.environment == nil { registry[self.path] = nil }
        }
        pthread_rwlock_destroy(self.resizeLock)
        self.resizeLock.deallocate()
        pthread_key_delete(self.lockDepthKey)
    }

    // MARK: Transactions

    /// Runs `body` in a read-only snapshot transaction and returns its result.
    ///
    /// The transaction and every buffer it hands out are valid only inside `body`.
    /// The corresponding C functions are `mdb_txn_renew` (or `mdb_txn_begin`) and `mdb_txn_reset`.
    @discardableResult
    public func read<T>(_ body: (ReadTransaction) throws -> T) throws -> T {
        let raw = try self.beginRead()
        let txn = ReadTransaction(handle: raw, environment: self)
        defer {
            txn.end()
            mdb_txn_reset(raw)
            self.recycle(raw)
            self.releaseShared()
        }
        return try body(txn)
    }

    /// Runs `body` in a write transaction: commits when it returns, aborts when it throws.
    ///
    /// If the map fills up, the transaction is aborted, the map doubles (up to
    /// ``EnvironmentOptions/maxMapSize``) and `body` runs again, so `body` must have no effects outside
    /// the transaction. Only one write transaction runs at a time; a nested write on the same thread
    /// is a programming error and stops the process with a message rather than deadlocking.
    /// The corresponding C functions are `mdb_txn_begin`, `mdb_txn_commit` and `mdb_txn_abort`.
    @discardableResult
    public func write<T>(_ body: (WriteTransaction) throws -> T) throws -> T {
        let me = pthread_self()
        let nested = self.state.withLock { $0.writerThread.map { pthread_equal($0, me) != 0 } ?? false }
        precondition(
            !nested,
            "ConvoStore LMDB: nested write transaction on the same thread (\(self.path)); LMDB has one writer, use the enclosing WriteTransaction")
        precondition(!self.options.readOnly, "write transaction on a read-only environment (\(self.path))")
        while true {
            self.acquireShared()
            var raw: OpaquePointer?
            let rc = mdb_txn_begin(self.handle, nil, 0, &raw)
            if rc == MDB_MAP_RESIZED {
                self.releaseShared()
                try self.adoptGrownMap()
                continue
            }
            guard rc == MDB_SUCCESS, let raw else {
                self.releaseShared()
                throw LMDBError(returnCode: rc, operation: "mdb_txn_begin (write)")
            }
            self.state.withLock { $0.writerThread = me }
            let txn = WriteTransaction(handle: raw, environment: self)
            let outcome: Result<T, any Error>
            do {
                outcome = .success(try body(txn))
            } catch {
                outcome = .failure(error)
            }
            txn.end()
            var mapFull = txn.mapIsFull
            var commitError: LMDBError?
            if case .success = outcome, !mapFull {
                let rc = mdb_txn_commit(raw)
                if rc == MDB_MAP_FULL {
                    mapFull = true
                } else if rc != MDB_SUCCESS {
                    commitError = self.commitFailure(rc)
                }
            } else {
                mdb_txn_abort(raw)
            }
            self.state.withLock { $0.writerThread = nil }
            self.releaseShared()
            if mapFull {
                try self.growMap()
                continue
            }
            if let commitError { throw commitError }
            return try outcome.get()
        }
    }

    // MARK: Databases

    /// Opens (and with ``DatabaseFlags/create`` creates) a named database, or the main one for `nil`.
    ///
    /// The handle is valid for the life of the environment, in every transaction.
    /// The corresponding C function is `mdb_dbi_open`.
    public func openDatabase(_ name: String?, flags: DatabaseFlags = [.create]) throws -> Database {
        if self.options.readOnly {
            let raw = try self.beginRead()
            defer { self.releaseShared() }
            var dbi = MDB_dbi()
            let rc = mdb_dbi_open(raw, name, flags.rawValue & ~DatabaseFlags.create.rawValue, &dbi)
            guard rc == MDB_SUCCESS else {
                mdb_txn_abort(raw)
                throw LMDBError(returnCode: rc, operation: "mdb_dbi_open \(name ?? "(main)")")
            }
            try check(mdb_txn_commit(raw), "mdb_txn_commit")
            return Database(handle: dbi, name: name, flags: flags)
        }
        return try self.write { txn in try txn.openDatabase(name, flags: flags) }
    }

    // MARK: Information

    /// The current map size, last used page and reader slots.
    ///
    /// The corresponding C function is `mdb_env_info`.
    public func info() throws -> EnvironmentInfo {
        var info = MDB_envinfo()
        try check(mdb_env_info(self.handle, &info), "mdb_env_info")
        var stat = MDB_stat()
        try check(mdb_env_stat(self.handle, &stat), "mdb_env_stat")
        return EnvironmentInfo(
            mapSize: info.me_mapsize,
            lastPageNumber: info.me_last_pgno,
            lastTransactionID: info.me_last_txnid,
            maxReaders: Int(info.me_maxreaders),
            readersUsed: Int(info.me_numreaders),
            pageSize: Int(stat.ms_psize),
            mapGrowths: self.state.withLock { $0.mapGrowths })
    }

    /// Frees reader slots held by dead processes and returns how many were freed.
    ///
    /// The corresponding C function is `mdb_reader_check`.
    @discardableResult
    public func readerCheck() throws -> Int {
        var dead: Int32 = 0
        try check(mdb_reader_check(self.handle, &dead), "mdb_reader_check")
        return Int(dead)
    }

    /// Changes how commits reach the disk, for this process only.
    ///
    /// The corresponding C function is `mdb_env_set_flags`.
    public func setDurability(_ durability: Durability) throws {
        let both = UInt32(MDB_NOSYNC) | UInt32(MDB_NOMETASYNC)
        try check(mdb_env_set_flags(self.handle, both, 0), "mdb_env_set_flags")
        switch durability {
        case .durable: break
        case .unsafeNoMetaSync: try check(mdb_env_set_flags(self.handle, UInt32(MDB_NOMETASYNC), 1), "mdb_env_set_flags")
        case .unsafeNoSync: try check(mdb_env_set_flags(self.handle, UInt32(MDB_NOSYNC), 1), "mdb_env_set_flags")
        }
    }

    /// Flushes buffers to disk; needed only with an unsafe ``Durability``.
    ///
    /// The corresponding C function is `mdb_env_sync`.
    public func sync() throws {
        try check(mdb_env_sync(self.handle, 1), "mdb_env_sync")
    }

    /// Writes a consistent copy of the environment (one committed state, taken in a read
    /// transaction while writers go on) to `file`, an open, empty file, and flushes it. With
    /// `compact`, free pages are left out and the pages are renumbered: the copy holds no byte of
    /// freed pages.
    ///
    /// The corresponding C function is `mdb_env_copyfd2` (`MDB_CP_COMPACT`).
    public func copy(toDescriptor descriptor: Int32, compact: Bool) throws {
        try check(mdb_env_copyfd2(self.handle, descriptor, compact ? UInt32(MDB_CP_COMPACT) : 0), "mdb_env_copyfd2")
        guard fsync(descriptor) == 0 else { throw LMDBError(returnCode: errno, operation: "fsync (copy)") }
    }

    /// Whether this process has the environment at `path` open.
    public static func isOpenInThisProcess(path: String) -> Bool {
        guard let resolved = realpath(path, nil) else { return false }
        let canonical = String(cString: resolved)
        free(resolved)
        return registry.withLock { $0[canonical]?.environment != nil }
    }

    /// Whether another process has the environment in `directory` open. LMDB keeps a shared lock on
    /// the first byte of `lock.mdb` while it has a file open; a write lock there can be taken only
    /// when no other process holds one. Call it only while this process does not have the
    /// environment open: closing any descriptor of `lock.mdb` releases every lock this process holds
    /// on it, LMDB's own included.
    public static func isOpenElsewhere(directory: String) throws -> Bool {
        precondition(!isOpenInThisProcess(path: directory), "isOpenElsewhere(directory:) with the environment open in this process")
        let path = directory + "/lock.mdb"
        let fd = Glibc.open(path, O_RDWR | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return false }
            throw LMDBError(returnCode: errno, operation: "open \(path)")
        }
        defer { Glibc.close(fd) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 1
        if fcntl(fd, F_SETLK, &lock) == 0 {
            lock.l_type = Int16(F_UNLCK)
            _ = fcntl(fd, F_SETLK, &lock)
            return false
        }
        if errno == EAGAIN || errno == EACCES { return true }
        throw LMDBError(returnCode: errno, operation: "fcntl \(path)")
    }

    // MARK: Internals

    /// Gives `lock.mdb` real blocks before LMDB maps it. LMDB sizes the lock file with `ftruncate`,
    /// which on a full filesystem succeeds with a sparse file; the first store into the map then
    /// dies with SIGBUS. Allocated first, a full disk is an error here instead. The size is LMDB's
    /// own: `(maxReaders - 1) * sizeof(MDB_reader) + sizeof(MDB_txninfo)` (64 and 192 bytes on
    /// 64-bit Linux with POSIX mutexes); a larger file would only give more reader slots.
    private static func allocateLockFile(directory: String, maxReaders: UInt32, mode: mode_t) throws {
        let path = directory + "/lock.mdb"
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_CLOEXEC, mode)
        guard fd >= 0 else { throw LMDBError(returnCode: errno, operation: "open \(path)") }
        defer { Glibc.close(fd) }
        let size = (Int(maxReaders) - 1) * 64 + 192
        let rc = posix_fallocate(fd, 0, off_t(size))
        guard rc == 0 else {
            throw LMDBError(
                .system(errno: rc), operation: "allocate \(path)",
                message: rc == ENOSPC ? "no space left on device for the store's lock file: free some space and try again" : String(cString: strerror(rc)))
        }
    }

    /// A failed commit, said plainly. LMDB reports a short write (what a filling disk gives) as EIO;
    /// when the filesystem is in fact full, say so.
    private func commitFailure(_ rc: Int32) -> LMDBError {
        var free: UInt64 = .max
        var info = statvfs()
        if statvfs(self.path, &info) == 0 { free = UInt64(info.f_bavail) * UInt64(info.f_frsize) }
        let full = rc == ENOSPC || rc == EDQUOT || (rc == EIO && free < 1 << 20)
        guard full || rc == EFBIG else { return LMDBError(returnCode: rc, operation: "mdb_txn_commit") }
        let what = rc == EFBIG
            ? "the file size limit was reached (ulimit -f)"
            : "no space left on device (\(free == .max ? "unknown" : "\(free) bytes") free for \(self.path))"
        return LMDBError(
            .system(errno: rc == EIO ? ENOSPC : rc), operation: "mdb_txn_commit",
            message: "\(what): this commit was not written; earlier commits are intact")
    }

    private func beginRead() throws -> OpaquePointer {
        while true {
            self.acquireShared()
            let idle = self.state.withLock { $0.idleReadTransactions.popLast() }?.handle
            var raw = idle
            let rc: Int32
            if let idle {
                rc = mdb_txn_renew(idle)
            } else {
                rc = mdb_txn_begin(self.handle, nil, UInt32(MDB_RDONLY), &raw)
            }
            if rc == MDB_SUCCESS, let raw { return raw }
            if let idle { mdb_txn_abort(idle) }
            self.releaseShared()
            if rc == MDB_MAP_RESIZED, self.lockDepth == 0 {
                try self.adoptGrownMap()
                continue
            }
            throw LMDBError(returnCode: rc, operation: idle == nil ? "mdb_txn_begin (read)" : "mdb_txn_renew")
        }
    }

    private func recycle(_ raw: OpaquePointer) {
        let kept = self.state.withLock { state -> Bool in
            guard state.idleReadTransactions.count < Int(self.options.maxReaders) else { return false }
            state.idleReadTransactions.append(IdleReadTransaction(handle: raw))
            return true
        }
        if !kept { mdb_txn_abort(raw) }
    }

    /// Adopts a map grown by another process. The corresponding C call is `mdb_env_set_mapsize(env, 0)`.
    private func adoptGrownMap() throws {
        pthread_rwlock_wrlock(self.resizeLock)
        defer { pthread_rwlock_unlock(self.resizeLock) }
        try check(mdb_env_set_mapsize(self.handle, 0), "mdb_env_set_mapsize (adopt)")
    }

    private func growMap() throws {
        precondition(self.lockDepth == 0, "the map cannot grow while this thread holds a transaction")
        pthread_rwlock_wrlock(self.resizeLock)
        defer { pthread_rwlock_unlock(self.resizeLock) }
        var info = MDB_envinfo()
        try check(mdb_env_info(self.handle, &info), "mdb_env_info")
        let current = info.me_mapsize
        let limit = self.options.maxMapSize
        guard current < limit else {
            throw LMDBError(
                .mapSizeLimitReached(mapSize: current, maxMapSize: limit), operation: "mdb_env_set_mapsize",
                message: "store is full (map size \(current) bytes reached maxMapSize \(limit)): reopen with a larger maxMapSize")
        }
        let next = min(max(current * 2, current + (1 << 20)), limit)
        try check(mdb_env_set_mapsize(self.handle, next), "mdb_env_set_mapsize \(next)")
        self.state.withLock { $0.mapGrowths += 1 }
    }

    private var lockDepth: Int {
        Int(bitPattern: pthread_getspecific(self.lockDepthKey))
    }

    private func setLockDepth(_ depth: Int) {
        pthread_setspecific(self.lockDepthKey, UnsafeRawPointer(bitPattern: depth))
    }

    private func acquireShared() {
        let depth = self.lockDepth
        if depth == 0 { pthread_rwlock_rdlock(self.resizeLock) }
        self.setLockDepth(depth + 1)
    }

    private func releaseShared() {
        let depth = self.lockDepth - 1
        self.setLockDepth(depth)
        if depth == 0 { pthread_rwlock_unlock(self.resizeLock) }
    }
}

/// What ``Environment/info()`` reports.
public struct EnvironmentInfo: Sendable, Equatable {
    /// The map size in bytes.
    public var mapSize: Int
    /// The last page in use; `(lastPageNumber + 1) * pageSize` is the used size of the data file.
    public var lastPageNumber: Int
    /// The last committed transaction's id.
    public var lastTransactionID: Int
    /// Reader slots in all.
    public var maxReaders: Int
    /// Reader slots ever taken (LMDB's high-water mark).
    public var readersUsed: Int
    /// The page size in bytes.
    public var pageSize: Int
    /// How many times this process doubled the map.
    public var mapGrowths: Int
}

/// A reset read transaction waiting in the pool.
private struct IdleReadTransaction: @unchecked Sendable {
    // @unchecked: a reset MDB_txn belongs to no thread (MDB_NOTLS) and is only handed out under the state lock.
    let handle: OpaquePointer
}

private final class WeakEnvironment: @unchecked Sendable {
    // @unchecked: only touched under Environment.registry's lock.
    weak var environment: Environment?
    init(environment: Environment) { self.environment = environment }
}
