import Benchmark
import CLMDB
@_spi(Benchmarks) import ConvoStore
import Foundation
import LMDB

// Micro-benchmarks of the store's hot paths, and of the LMDB wrapper against direct C calls (its
// overhead should stay within 10%: compare the `lmdb-wrapper-*` and `lmdb-c-*` pairs). Names have no
// spaces: package-benchmark 1.38 writes threshold files with spaces replaced but reads them without.
// Run: swift package --package-path Benchmarks benchmark; thresholds: Benchmarks/Thresholds/.

/// A store with `conversations` conversations, each with one inbound message waiting for a reply.
final class Fixture: @unchecked Sendable {
    // @unchecked: built in a setup hook before the measured closure runs; read-only afterwards.
    static let conversations = 10_000
    static let start: Int64 = 1_767_571_200_000
    let directory: String
    let store: ConvoStore
    private(set) var nextMessage = 0

    init(durable: Bool) throws {
        self.directory = NSTemporaryDirectory() + "convostore-bench-\(UUID().uuidString)"
        var options = StoreOptions()
        if !durable { options.durabilityOverride = .unsafeNoSync }
        self.store = try ConvoStore.open(at: self.directory, options: options)
        try self.store.write { writer in
            for i in 0..<Self.conversations {
                _ = try writer.record(.message(self.inbound(customer: i, at: Self.start + Int64(i))))
            }
        }
    }

    func inbound(customer: Int, at: Int64) -> Message {
        defer { self.nextMessage += 1 }
        return Message(
            id: "wamid.\(self.nextMessage)", business: Self.business(customer), customer: Self.customer(customer),
            direction: .inbound, at: at, body: Array(repeating: 0x5A, count: 80), bodyIsText: false)
    }

    static func business(_ customer: Int) -> String { "1555\(1_000_000 + customer % 100)" }
    static func customer(_ index: Int) -> String { "447700\(100_000_000 + index)" }

    deinit { try? FileManager.default.removeItem(atPath: self.directory) }
}

/// The same 10,000 keys in two environments: one through the wrapper, one through the C API alone.
final class LMDBFixture: @unchecked Sendable {
    // @unchecked: built in a setup hook; read-only afterwards.
    static let count = 10_000
    let keys: [[UInt8]] = (0..<UInt64(LMDBFixture.count)).map { BigEndian.bytes($0 &* 2_654_435_761 % 1_000_003) }
    let wrapperDirectory = NSTemporaryDirectory() + "lmdb-wrapper-\(UUID().uuidString)"
    let cDirectory = NSTemporaryDirectory() + "lmdb-c-\(UUID().uuidString)"
    let environment: Environment
    let database: Database
    var cEnvironment: OpaquePointer?
    var cDatabase = MDB_dbi()

    init() throws {
        self.environment = try Environment.open(path: self.wrapperDirectory)
        self.database = try self.environment.openDatabase("values")
        try self.environment.write { txn in
            for key in self.keys { try txn.put(self.database, key: key, value: Array(repeating: 7, count: 61)) }
        }
        mkdir(self.cDirectory, 0o700)
        mdb_env_create(&self.cEnvironment)
        mdb_env_set_maxdbs(self.cEnvironment, 4)
        mdb_env_set_mapsize(self.cEnvironment, 64 << 20)
        mdb_env_open(self.cEnvironment, self.cDirectory, UInt32(MDB_NOTLS), 0o600)
        var txn: OpaquePointer?
        mdb_txn_begin(self.cEnvironment, nil, 0, &txn)
        mdb_dbi_open(txn, "values", UInt32(MDB_CREATE), &self.cDatabase)
        var value = [UInt8](repeating: 7, count: 61)
        for var key in self.keys {
            key.withUnsafeMutableBytes { k in
                value.withUnsafeMutableBytes { v in
                    var kv = MDB_val(mv_size: k.count, mv_data: k.baseAddress)
                    var vv = MDB_val(mv_size: v.count, mv_data: v.baseAddress)
                    _ = mdb_put(txn, self.cDatabase, &kv, &vv, 0)
                }
            }
        }
        mdb_txn_commit(txn)
    }

    deinit {
        mdb_env_close(self.cEnvironment)
        try? FileManager.default.removeItem(atPath: self.wrapperDirectory)
        try? FileManager.default.removeItem(atPath: self.cDirectory)
    }
}

nonisolated(unsafe) var fixture: Fixture!
nonisolated(unsafe) var durableFixture: Fixture!
nonisolated(unsafe) var lmdb: LMDBFixture!

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .mallocCountTotal],  // throughput is 1/wallClock: no second threshold
        timeUnits: .nanoseconds,
        maxDuration: .seconds(2),
        thresholds: [
            // Consecutive runs on the shared 2-core development VM differ by up to 40%.
            .wallClock: BenchmarkThresholds(relative: [.p50: 35, .p90: 50]),
            .mallocCountTotal: BenchmarkThresholds(absolute: [.p90: 2]),
        ])

    let storeSetup: Benchmark.BenchmarkSetupHook = { fixture = try Fixture(durable: false) }
    let storeTeardown: Benchmark.BenchmarkTeardownHook = { fixture = nil }

    // Decodes the 61-byte conversation record from the map and evaluates the window (the record
    // codecs are internal to ConvoStore; this and `history` are their public measure).
    Benchmark("state-read", configuration: .init(scalingFactor: .kilo, setup: storeSetup, teardown: storeTeardown)) { benchmark in
        try fixture.store.read { reader in
            for i in benchmark.scaledIterations {
                blackHole(try reader.conversation(business: Fixture.business(i), customer: Fixture.customer(i), at: Fixture.start + 3_600_000))
            }
        }
    }

    // Message records decoded into messages: one page of a conversation's history.
    Benchmark("record-decode-history-page", configuration: .init(scalingFactor: .kilo, setup: storeSetup, teardown: storeTeardown)) { benchmark in
        for i in benchmark.scaledIterations {
            blackHole(try fixture.store.history(business: Fixture.business(i), customer: Fixture.customer(i)))
        }
    }

    // The checksum alone, once per record: a 61-byte conversation record and a 160-byte message record
    // (header, a 10-byte id, kind, an 80-byte body: the workload's typical record), 1,000 records per
    // iteration (so the p50 per record is the figure in ns divided by 1,000). Sealing on write and
    // verifying on read each compute it once.
    let conversationRecord = [UInt8]((0..<61).map { UInt8(truncatingIfNeeded: $0 &* 37) })
    let messageRecord = [UInt8]((0..<160).map { UInt8(truncatingIfNeeded: $0 &* 91) })
    Benchmark("crc32c-conversation-record-61B-x1000", configuration: .init(scalingFactor: .one)) { benchmark in
        var record = conversationRecord
        for _ in benchmark.scaledIterations {
            for i in 0..<1000 {
                record[0] = UInt8(truncatingIfNeeded: i)  // a different record each time: nothing to hoist
                blackHole(record.withUnsafeBytes(RecordChecksum.of))
            }
        }
    }
    Benchmark("crc32c-message-record-160B-x1000", configuration: .init(scalingFactor: .one)) { benchmark in
        var record = messageRecord
        for _ in benchmark.scaledIterations {
            for i in 0..<1000 {
                record[0] = UInt8(truncatingIfNeeded: i)  // a different record each time: nothing to hoist
                blackHole(record.withUnsafeBytes(RecordChecksum.of))
            }
        }
    }

    Benchmark("send-check", configuration: .init(scalingFactor: .kilo, setup: storeSetup, teardown: storeTeardown)) { benchmark in
        for i in benchmark.scaledIterations {
            blackHole(try fixture.store.checkSend(business: Fixture.business(i), customer: Fixture.customer(i), at: Fixture.start + 3_600_000))
        }
    }

    // The overdue scan: a counting walk of 10,000 due entries (divide by 10,000 for one step).
    Benchmark("overdue-scan-10k-entries", configuration: .init(scalingFactor: .one, setup: storeSetup, teardown: storeTeardown)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try fixture.store.read { try $0.countOverdue(asOf: .max - 1) })
        }
    }

    // Record encoding and the rules, without the sync: an inbound message in a commit of its own.
    Benchmark("record-encode-commit-1-event-nosync", configuration: .init(scalingFactor: .one, setup: storeSetup, teardown: storeTeardown)) { benchmark in
        for i in benchmark.scaledIterations {
            let message = fixture.inbound(customer: i % Fixture.conversations, at: Fixture.start + 7_200_000 + Int64(i))
            blackHole(try fixture.store.record([.message(message)]))
        }
    }

    Benchmark(
        "commit-1-event-durable",
        configuration: .init(
            scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 2000,
            setup: { durableFixture = try Fixture(durable: true) }, teardown: { durableFixture = nil })
    ) { benchmark in
        for i in benchmark.scaledIterations {
            let message = durableFixture.inbound(customer: i % Fixture.conversations, at: Fixture.start + 7_200_000 + Int64(i))
            blackHole(try durableFixture.store.record([.message(message)]))
        }
    }

    // The LMDB wrapper against the C API: 10,000 gets in one read transaction, and a cursor walk.
    let lmdbSetup: Benchmark.BenchmarkSetupHook = { lmdb = try LMDBFixture() }
    let lmdbTeardown: Benchmark.BenchmarkTeardownHook = { lmdb = nil }
    let lmdbConfiguration = Benchmark.Configuration(scalingFactor: .one, setup: lmdbSetup, teardown: lmdbTeardown)

    Benchmark("lmdb-wrapper-10k-gets", configuration: lmdbConfiguration) { benchmark in
        for _ in benchmark.scaledIterations {
            try lmdb.environment.read { txn in
                for key in lmdb.keys { blackHole(try txn.get(lmdb.database, key: key)) }
            }
        }
    }

    Benchmark("lmdb-c-10k-gets", configuration: lmdbConfiguration) { benchmark in
        for _ in benchmark.scaledIterations {
            var txn: OpaquePointer?
            mdb_txn_begin(lmdb.cEnvironment, nil, UInt32(MDB_RDONLY), &txn)
            var value = MDB_val()
            for key in lmdb.keys {
                key.withUnsafeBytes { k in
                    var kv = MDB_val(mv_size: k.count, mv_data: UnsafeMutableRawPointer(mutating: k.baseAddress))
                    blackHole(mdb_get(txn, lmdb.cDatabase, &kv, &value))
                }
            }
            mdb_txn_abort(txn)
        }
    }

    Benchmark("lmdb-wrapper-cursor-walk-10k", configuration: lmdbConfiguration) { benchmark in
        for _ in benchmark.scaledIterations {
            try lmdb.environment.read { txn in
                var count = 0
                try txn.forEach(lmdb.database) { _, _ in
                    count += 1
                    return true
                }
                blackHole(count)
            }
        }
    }

    Benchmark("lmdb-c-cursor-walk-10k", configuration: lmdbConfiguration) { benchmark in
        for _ in benchmark.scaledIterations {
            var txn: OpaquePointer?
            mdb_txn_begin(lmdb.cEnvironment, nil, UInt32(MDB_RDONLY), &txn)
            var cursor: OpaquePointer?
            mdb_cursor_open(txn, lmdb.cDatabase, &cursor)
            var key = MDB_val()
            var value = MDB_val()
            var count = 0
            var op = MDB_FIRST
            while mdb_cursor_get(cursor, &key, &value, op) == 0 {
                count += 1
                op = MDB_NEXT
            }
            blackHole(count)
            mdb_cursor_close(cursor)
            mdb_txn_abort(txn)
        }
    }
}
