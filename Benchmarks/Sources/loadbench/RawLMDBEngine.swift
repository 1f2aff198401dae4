import LMDB

/// The ceiling: ConvoStore's puts, deletes and commits for each event (``RawWorkloadWriter``) on LMDB
/// through the `LMDB` wrapper, in named databases as the store's, without domain logic.
final class RawLMDBEngine: Engine, @unchecked Sendable {
    // @unchecked: `environment` is thread-safe for reads; `writer` is touched only by the writing task.
    private let environment: Environment
    private let databases: [Database]
    private let writer: RawWorkloadWriter
    private let directory: String

    init(directory: String, workload: Workload, mode: OpenMode) throws {
        var options = EnvironmentOptions()
        // Large enough never to grow: a grown map runs the write again, and the writer's state must
        // change once per commit.
        options.mapSize = 1 << 36
        options.maxDatabases = 32
        switch mode {
        case .bulkLoad: options.durability = .unsafeNoSync
        case .live(let durable): options.durability = durable ? .durable : .unsafeNoSync
        }
        let environment = try Environment.open(path: directory, options: options)
        let databases = try environment.write { txn in
            try RawTable.allCases.map { try txn.openDatabase($0.name, flags: $0.hasDuplicates ? [.create, .dupSort] : [.create]) }
        }
        self.environment = environment
        self.databases = databases
        self.directory = directory
        if case .bulkLoad = mode {
            self.writer = RawWorkloadWriter(workload: workload)
        } else {
            let counters = try environment.read { try $0.value(databases[Int(RawTable.meta.rawValue)], key: Array("counters".utf8)) }
            self.writer = try RawWorkloadWriter(workload: workload, loadingFrom: directory, counters: counters)
        }
    }

    private func database(_ table: RawTable) -> Database { self.databases[Int(table.rawValue)] }

    func apply(_ batch: ArraySlice<WorkloadEvent>) async throws {
        try self.environment.write { txn in
            try self.writer.apply(batch, LMDBRawTransaction(txn: txn, databases: self.databases))
        }
    }

    // MARK: Reading

    func checkSend(conversation: UInt32, at: Int64) throws -> Bool {
        let key = self.writer.conversationKey(conversation)
        return try self.environment.read { txn in
            guard let number = try txn.get(self.database(.conversations), key: key), let raw = try txn.get(self.database(.messages), key: number) else {
                return false
            }
            return RawWorkloadWriter.windowOpen(record: raw, at: at)
        }
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

    /// A cursor walk over `[from, to)` of a time-first index, up to `limit` entries.
    private func count(_ table: RawTable, from: Int64, to: Int64, limit: Int = .max) throws -> Int {
        try self.environment.read { txn in
            var count = 0
            try txn.forEach(self.database(table), from: .inclusive(BigEndian.bytes(UInt64(from))), to: .exclusive(BigEndian.bytes(UInt64(to)))) { _, _ in
                count += 1
                return count < limit
            }
            return count
        }
    }

    func billingTotals() throws -> BillingTotals? { nil }

    func finishImport() throws {
        try self.writer.saveState(to: self.directory)
    }

    func close() throws {}
}

/// A raw engine's transaction on LMDB: a named database per table, `MDB_DUPSORT` where the store has it.
private struct LMDBRawTransaction: RawWriteTransaction {
    let txn: WriteTransaction
    let databases: [Database]

    func get(_ table: RawTable, _ key: [UInt8]) throws -> [UInt8]? {
        try self.txn.value(self.databases[Int(table.rawValue)], key: key)
    }

    func put(_ table: RawTable, _ key: [UInt8], _ value: [UInt8]) throws {
        try self.txn.put(self.databases[Int(table.rawValue)], key: key, value: value)
    }

    func delete(_ table: RawTable, _ key: [UInt8]) throws {
        try self.txn.delete(self.databases[Int(table.rawValue)], key: key)
    }

    func putDuplicate(_ table: RawTable, _ key: [UInt8], _ value: [UInt8]) throws {
        try self.txn.put(self.databases[Int(table.rawValue)], key: key, value: value)
    }

    func deleteDuplicate(_ table: RawTable, _ key: [UInt8], _ value: [UInt8]) throws {
        try self.txn.delete(self.databases[Int(table.rawValue)], key: key, value: value)
    }
}
