import CRocksDB
import LMDB
import Foundation

/// What a user would pick instead for writes: the same puts, deletes and reads as `raw_lmdb`
/// (``RawWorkloadWriter``) on RocksDB (Debian's librocksdb, its C API), a log-structured merge tree.
/// Every table is a one-byte key prefix in the default column family; a key with several values
/// (LMDB's `MDB_DUPSORT`) is the key followed by the value. A commit is a write batch, written with
/// the write-ahead log synced (`sync=true`) in the live phase; the batch's own writes are read back
/// from a hash map beside it (RocksDB's indexed batch, which does the same with a skip list, cost
/// twice the CPU per event). The import writes no log (a bulk load's choice) and ends with a flush
/// and a wait for the compactions it started, so every trial starts from the same settled tree.
/// Scans are iterators with an upper bound.
///
/// Tuned as its users would: `IncreaseParallelism` (the machine's cores),
/// `OptimizeLevelStyleCompaction(512 MiB)`, a 128 MiB block cache (SQLite's page cache) and bloom
/// filters of 10 bits per key.
final class RocksDBEngine: Engine, @unchecked Sendable {
    // @unchecked: a rocksdb_t is thread-safe; `batch`, `pending` and `writer` are touched only by the
    // writing task.
    private let db: OpaquePointer
    private let options: OpaquePointer
    private let writeOptions: OpaquePointer
    private let readOptions: OpaquePointer
    private let batch: OpaquePointer
    private let writer: RawWorkloadWriter
    private let directory: String
    private var closed = false

    init(directory: String, workload: Workload, mode: OpenMode) throws {
        self.options = rocksdb_options_create()
        rocksdb_options_set_create_if_missing(self.options, 1)
        rocksdb_options_increase_parallelism(self.options, Int32(ProcessInfo.processInfo.activeProcessorCount))
        rocksdb_options_optimize_level_style_compaction(self.options, 512 << 20)
        let table = rocksdb_block_based_options_create()
        rocksdb_block_based_options_set_block_cache(table, rocksdb_cache_create_lru(128 << 20))
        rocksdb_block_based_options_set_filter_policy(table, rocksdb_filterpolicy_create_bloom(10))
        rocksdb_options_set_block_based_table_factory(self.options, table)
        rocksdb_block_based_options_destroy(table)
        var error: UnsafeMutablePointer<CChar>?
        let db = rocksdb_open(self.options, directory, &error)
        try RocksDBError.check(error, "rocksdb_open \(directory)")
        guard let db else { throw RocksDBError(operation: "rocksdb_open", message: "no database") }
        self.db = db
        self.writeOptions = rocksdb_writeoptions_create()
        switch mode {
        case .bulkLoad:
            rocksdb_writeoptions_set_sync(self.writeOptions, 0)
            rocksdb_writeoptions_disable_WAL(self.writeOptions, 1)
        case .live(let durable): rocksdb_writeoptions_set_sync(self.writeOptions, durable ? 1 : 0)
        }
        self.readOptions = rocksdb_readoptions_create()
        self.batch = rocksdb_writebatch_create()
        self.directory = directory
        if case .bulkLoad = mode {
            self.writer = RawWorkloadWriter(workload: workload)
        } else {
            let counters = try RocksDBEngine.get(self.db, self.readOptions, RocksDBRawTransaction.key(.meta, Array("counters".utf8)))
            self.writer = try RawWorkloadWriter(workload: workload, loadingFrom: directory, counters: counters)
        }
    }

    deinit {
        self.shutDown()
        rocksdb_writebatch_destroy(self.batch)
        rocksdb_readoptions_destroy(self.readOptions)
        rocksdb_writeoptions_destroy(self.writeOptions)
        rocksdb_options_destroy(self.options)
    }

    func apply(_ batch: ArraySlice<WorkloadEvent>) async throws {
        rocksdb_writebatch_clear(self.batch)
        let transaction = RocksDBRawTransaction(db: self.db, batch: self.batch, readOptions: self.readOptions)
        try self.writer.apply(batch, transaction)
        var error: UnsafeMutablePointer<CChar>?
        rocksdb_write(self.db, self.writeOptions, self.batch, &error)
        try RocksDBError.check(error, "rocksdb_write")
    }

    // MARK: Reading

    func checkSend(conversation: UInt32, at: Int64) throws -> Bool {
        guard let number = try Self.get(self.db, self.readOptions, RocksDBRawTransaction.key(.conversations, self.writer.conversationKey(conversation))),
              let record = try Self.get(self.db, self.readOptions, RocksDBRawTransaction.key(.messages, number))
        else { return false }
        return record.withUnsafeBytes { RawWorkloadWriter.windowOpen(record: $0, at: at) }
    }

    func newlyOverdue(after: Int64, until: Int64, limit: Int) throws -> Int {
        try self.count(.dueByTime, from: after + 1, to: until + 1, limit: limit)
    }

    func windowsClosing(from: Int64, to: Int64) throws -> Int {
        try self.count(.expiryByTime, from: from, to: to)
    }

    func countOverdue(asOf: Int64) throws -> Int {
        try self.count(.dueByTime, from: 0, to: asOf + 1)
    }

    /// An iterator walk over `[from, to)` of a time-first index, up to `limit` entries.
    private func count(_ table: RawTable, from: Int64, to: Int64, limit: Int = .max) throws -> Int {
        let lower = RocksDBRawTransaction.key(table, BigEndian.bytes(UInt64(from)))
        let upper = RocksDBRawTransaction.key(table, BigEndian.bytes(UInt64(to)))
        return try upper.withUnsafeBufferPointer { upperBound in
            let options = rocksdb_readoptions_create()
            defer { rocksdb_readoptions_destroy(options) }
            // The bound must outlive the iterator: it does, inside this closure.
            upperBound.withMemoryRebound(to: CChar.self) { rocksdb_readoptions_set_iterate_upper_bound(options, $0.baseAddress, $0.count) }
            let iterator = rocksdb_create_iterator(self.db, options)
            defer { rocksdb_iter_destroy(iterator) }
            lower.withUnsafeBufferPointer { key in
                key.withMemoryRebound(to: CChar.self) { rocksdb_iter_seek(iterator, $0.baseAddress, $0.count) }
            }
            var count = 0
            while count < limit, rocksdb_iter_valid(iterator) != 0 {
                count += 1
                rocksdb_iter_next(iterator)
            }
            var error: UnsafeMutablePointer<CChar>?
            rocksdb_iter_get_error(iterator, &error)
            try RocksDBError.check(error, "rocksdb_iter_next")
            return count
        }
    }

    func billingTotals() throws -> BillingTotals? { nil }

    /// Flushes the memtable (the import wrote no log), waits for the compactions under way (at most
    /// five minutes), saves the writer's state and closes.
    func finishImport() throws {
        let flush = rocksdb_flushoptions_create()
        defer { rocksdb_flushoptions_destroy(flush) }
        rocksdb_flushoptions_set_wait(flush, 1)
        var error: UnsafeMutablePointer<CChar>?
        rocksdb_flush(self.db, flush, &error)
        try RocksDBError.check(error, "rocksdb_flush")
        let start = Clock.now()
        while Clock.seconds(since: start) < 300, self.property("rocksdb.compaction-pending") != 0 || self.property("rocksdb.num-running-compactions") != 0 {
            usleep(100_000)
        }
        try self.writer.saveState(to: self.directory)
        self.shutDown()
    }

    /// An integer property of the database (`rocksdb.compaction-pending`, ...), or nil.
    private func property(_ name: String) -> Int? {
        guard let value = rocksdb_property_value(self.db, name) else { return nil }
        defer { rocksdb_free(value) }
        return Int(String(cString: value))
    }

    func close() throws {
        self.shutDown()
    }

    private func shutDown() {
        guard !self.closed else { return }
        self.closed = true
        rocksdb_close(self.db)
    }

    /// A value read from the database (not the batch), copied.
    fileprivate static func get(_ db: OpaquePointer, _ options: OpaquePointer, _ key: [UInt8]) throws -> [UInt8]? {
        var length = 0
        var error: UnsafeMutablePointer<CChar>?
        let value = key.withUnsafeBufferPointer { k in
            k.withMemoryRebound(to: CChar.self) { rocksdb_get(db, options, $0.baseAddress, $0.count, &length, &error) }
        }
        try RocksDBError.check(error, "rocksdb_get")
        return RocksDBRawTransaction.take(value, length)
    }
}

/// A raw engine's transaction on RocksDB: a write batch, and the batch's own writes in a hash map
/// (nil: deleted), so reads see them.
private final class RocksDBRawTransaction: RawWriteTransaction {
    let db: OpaquePointer
    let batch: OpaquePointer
    let readOptions: OpaquePointer
    private var pending: [[UInt8]: [UInt8]?] = [:]

    init(db: OpaquePointer, batch: OpaquePointer, readOptions: OpaquePointer) {
        self.db = db
        self.batch = batch
        self.readOptions = readOptions
    }

    /// A table's key: its one-byte prefix, then the key.
    static func key(_ table: RawTable, _ key: [UInt8]) -> [UInt8] {
        var out = [table.rawValue]
        out += key
        return out
    }

    /// Copies a value RocksDB allocated, and frees it.
    static func take(_ value: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8]? {
        guard let value else { return nil }
        defer { rocksdb_free(value) }
        return Array(UnsafeRawBufferPointer(start: value, count: length))
    }

    func get(_ table: RawTable, _ key: [UInt8]) throws -> [UInt8]? {
        let key = Self.key(table, key)
        if let written = self.pending[key] { return written }
        return try RocksDBEngine.get(self.db, self.readOptions, key)
    }

    func put(_ table: RawTable, _ key: [UInt8], _ value: [UInt8]) throws {
        let key = Self.key(table, key)
        key.withUnsafeBufferPointer { k in
            value.withUnsafeBufferPointer { v in
                k.withMemoryRebound(to: CChar.self) { k in
                    v.withMemoryRebound(to: CChar.self) { v in
                        rocksdb_writebatch_put(self.batch, k.baseAddress, k.count, v.baseAddress, v.count)
                    }
                }
            }
        }
        self.pending[key] = .some(value)
    }

    func delete(_ table: RawTable, _ key: [UInt8]) throws {
        let key = Self.key(table, key)
        key.withUnsafeBufferPointer { k in
            k.withMemoryRebound(to: CChar.self) { rocksdb_writebatch_delete(self.batch, $0.baseAddress, $0.count) }
        }
        self.pending[key] = .some(nil)
    }

    func putDuplicate(_ table: RawTable, _ key: [UInt8], _ value: [UInt8]) throws {
        try self.put(table, key + value, [])
    }

    func deleteDuplicate(_ table: RawTable, _ key: [UInt8], _ value: [UInt8]) throws {
        try self.delete(table, key + value)
    }
}

/// An error RocksDB reported: the call, and its message.
struct RocksDBError: Error, CustomStringConvertible {
    let operation: String
    let message: String

    var description: String { "\(self.operation): \(self.message)" }

    /// The one place a RocksDB error pointer becomes a typed error (and is freed).
    static func check(_ error: UnsafeMutablePointer<CChar>?, _ operation: @autoclosure () -> String) throws {
        guard let error else { return }
        defer { rocksdb_free(error) }
        throw RocksDBError(operation: operation(), message: String(cString: error))
    }
}
