import Foundation
import LMDB
import TestSupport
import Synchronization
import Testing

private func key32(_ n: UInt32) -> [UInt8] { BigEndian.bytes(n) }

private func openEnvironment(_ path: String, _ configure: (inout EnvironmentOptions) -> Void = { _ in }) throws -> Environment {
    var options = EnvironmentOptions()
    configure(&options)
    return try Environment.open(path: path, options: options)
}

@Suite struct RoundTrips {
    @Test func putGetDeleteAndCopies() throws {
        try withTemporaryDirectory { dir in
            let env = try openEnvironment(dir)
            let db = try env.openDatabase("things")
            try env.write { txn throws in
                try txn.put(db, key: Array("alpha".utf8), value: [1, 2, 3])
                #expect(try txn.put(db, key: Array("alpha".utf8), value: [9], flags: .noOverwrite) == false)
                try txn.put(db, key: Array("beta".utf8), value: [])
                _ = try Array("gamma".utf8).withUnsafeBytes { key in
                    try txn.reserve(db, key: key, count: 4) { $0.copyBytes(from: [7, 7, 7, 7]) }
                }
            }
            try env.read { txn throws in
                #expect(try txn.value(db, key: Array("alpha".utf8)) == [1, 2, 3])
                #expect(try txn.value(db, key: Array("beta".utf8)) == [])
                #expect(try txn.value(db, key: Array("gamma".utf8)) == [7, 7, 7, 7])
                #expect(try txn.value(db, key: Array("delta".utf8)) == nil)
                #expect(try txn.statistics(db).entries == 3)
            }
            try env.write { txn throws in
                #expect(try txn.delete(db, key: Array("alpha".utf8)))
                #expect(try txn.delete(db, key: Array("alpha".utf8)) == false)
            }
            #expect(try env.read { try $0.contains(db, key: Array("alpha".utf8)) } == false)
        }
    }

    @Test func throwingWriteRollsBack() throws {
        struct Stop: Error {}
        try withTemporaryDirectory { dir in
            let env = try openEnvironment(dir)
            let db = try env.openDatabase("things")
            #expect(throws: Stop.self) {
                try env.write { txn throws in
                    try txn.put(db, key: [1], value: [1])
                    throw Stop()
                }
            }
            #expect(try env.read { try $0.value(db, key: [1]) } == nil)
        }
    }

    @Test func dataSurvivesReopen() throws {
        try withTemporaryDirectory { dir in
            do {
                let env = try openEnvironment(dir)
                let db = try env.openDatabase("things")
                try env.write { try $0.put(db, key: [42], value: Array("kept".utf8)) }
            }
            let env = try openEnvironment(dir)
            let db = try env.openDatabase("things")
            #expect(try env.read { try $0.value(db, key: [42]) } == Array("kept".utf8))
        }
    }
}

@Suite struct FreePages {
    /// Pages a commit frees go on the free-page list, which counts them; a compacting copy has none.
    @Test func theFreePageListCountsFreedPagesAndACompactingCopyHasNone() throws {
        try withTemporaryDirectory { dir in
            let env = try openEnvironment(dir + "/a")
            let db = try env.openDatabase("things")
            try env.write { txn throws in
                for n in 0..<2000 { try txn.put(db, key: key32(UInt32(n)), value: [UInt8](repeating: 7, count: 1000)) }
            }
            try env.write { txn throws in
                for n in 0..<2000 { #expect(try txn.delete(db, key: key32(UInt32(n)))) }
            }
            let list = try env.read { try $0.freePageList() }
            // 2,000 values of 1,000 bytes took about 500 leaf pages; deleting them all frees each.
            #expect(list.pages >= 400 && list.records >= 1 && list.listBytes >= list.pageSize)
            #expect(list.freeBytes == list.pages * list.pageSize)
            try FileManager.default.createDirectory(atPath: dir + "/b", withIntermediateDirectories: false)
            let file = open(dir + "/b/data.mdb", O_WRONLY | O_CREAT | O_EXCL, 0o600)
            try env.copy(toDescriptor: file, compact: true)
            close(file)
            let copy = try openEnvironment(dir + "/b")
            let compacted = try copy.read { try $0.freePageList() }
            #expect(compacted.records == 0 && compacted.pages == 0 && compacted.listBytes == 0)
        }
    }

    @Test func aPageCensusCountsEachTreeAndNamesThePagesACommitWrote() throws {
        try withTemporaryDirectory { dir in
            let env = try openEnvironment(dir)
            let things = try env.openDatabase("things")
            let dups = try env.openDatabase("dups", flags: [.create, .dupSort])
            let big = [UInt8](repeating: 9, count: 10_000)
            try env.write { txn throws in
                for n in 0..<3000 { try txn.put(things, key: key32(UInt32(n)), value: [UInt8](repeating: 7, count: 100)) }
                try txn.put(things, key: Array("big".utf8), value: big)
                // Enough values under one key for a sub-database of their own.
                for n in 0..<2000 { try txn.put(dups, key: [1], value: key32(UInt32(n))) }
            }
            let before = try env.pageCensus()
            let (thingsStat, dupsStat) = try env.read { txn throws in (try txn.statistics(things), try txn.statistics(dups)) }
            // 3,000 values of 100 bytes fill about 80 leaves, so "things" has a branch level.
            #expect(thingsStat.depth >= 2)
            #expect(before.pages["things"] == PageCounts(branch: thingsStat.branchPages, leaf: thingsStat.leafPages, overflow: thingsStat.overflowPages))
            #expect(before.pages["things"]?.overflow == 3)  // 10,000 bytes and a page header: three pages
            // The sub-database's pages count under the database that holds it; LMDB's own statistics
            // of "dups" count only its main tree (one leaf, holding the sub-database's record).
            #expect(dupsStat.leafPages == 1)
            #expect((before.pages["dups"]?.leaf ?? 0) > 1)
            #expect(before.databases.prefix(2) == ["(free pages)", "(main)"])

            // One value changed in place: the commit copies its leaf and every branch above it.
            try env.write { txn throws in try txn.put(things, key: key32(1500), value: [UInt8](repeating: 8, count: 100)) }
            let after = try env.pageCensus()
            #expect(after.transactionID == before.transactionID + 1)
            let written = after.written(since: before)
            #expect(written["things"] == PageCounts(branch: thingsStat.depth - 1, leaf: 1, overflow: 0))
            #expect(written["dups"] == PageCounts())
            #expect(written["(main)"]?.total == 1)  // the record of "things" (its new root)

            // The large value rewritten: its three overflow pages are new copies.
            try env.write { txn throws in try txn.put(things, key: Array("big".utf8), value: [UInt8](repeating: 1, count: 10_000)) }
            let third = try Environment.pageCensus(ofDirectory: dir)
            #expect(third.written(since: after)["things"]?.overflow == 3)
            #expect(third.pages["things"] == after.pages["things"])
        }
    }
}

@Suite struct Ordering {
    @Test func bigEndianKeysSortNumerically() throws {
        try withTemporaryDirectory { dir in
            let env = try openEnvironment(dir)
            let db = try env.openDatabase("numbers")
            var generator = SystemRandomNumberGenerator()
            let numbers = (0..<500).map { _ in UInt64.random(in: 0...UInt64.max, using: &generator) } + [0, 1, 255, 256, 65_535, 65_536]
            let signed: [Int64] = [-5, Int64.min, 0, 3, Int64.max, -1, 1]
            let signedDB = try env.openDatabase("signed")
            try env.write { txn throws in
                for n in numbers { try txn.put(db, key: BigEndian.bytes(n), value: []) }
                for n in signed {
                    var key: [UInt8] = []
                    BigEndian.appendOrdered(n, to: &key)
                    try txn.put(signedDB, key: key, value: [])
                }
            }
            let (read, readSigned) = try env.read { txn throws in
                (try txn.entries(db).map { BigEndian.read(UInt64.self, from: $0.key) },
                 try txn.entries(signedDB).map { BigEndian.readOrdered(from: $0.key) })
            }
            #expect(read == Array(Set(numbers)).sorted())
            #expect(readSigned == signed.sorted())
        }
    }

    @Test(arguments: [false, true])
    func rangesHonourBoundsBothWays(reverse: Bool) throws {
        try withTemporaryDirectory { dir in
            let env = try openEnvironment(dir)
            let db = try env.openDatabase("range")
            let present = Array(stride(from: UInt32(0), to: 100, by: 2))
            try env.write { txn in for n in present { try txn.put(db, key: key32(n), value: key32(n * 10)) } }
            let bounds: [(KeyBound, (UInt32) -> Bool)] = [
                (.unbounded, { _ in true }),
                (.inclusive(key32(10)), { $0 >= 10 }), (.exclusive(key32(10)), { $0 > 10 }),
                (.inclusive(key32(11)), { $0 >= 11 }), (.exclusive(key32(11)), { $0 > 11 }),
                (.inclusive(key32(200)), { $0 >= 200 }), (.exclusive(key32(0)), { $0 > 0 }),
            ]
            let uppers: [(KeyBound, (UInt32) -> Bool)] = [
                (.unbounded, { _ in true }),
                (.inclusive(key32(50)), { $0 <= 50 }), (.exclusive(key32(50)), { $0 < 50 }),
                (.inclusive(key32(51)), { $0 <= 51 }), (.exclusive(key32(51)), { $0 < 51 }),
                (.exclusive(key32(0)), { $0 < 0 }), (.inclusive(key32(98)), { $0 <= 98 }),
            ]
            try env.read { txn throws in
                for (lower, lowerOK) in bounds {
                    for (upper, upperOK) in uppers {
                        let got = try txn.entries(db, from: lower, to: upper, reverse: reverse).map {
                            (BigEndian.read(UInt32.self, from: $0.key), BigEndian.read(UInt32.self, from: $0.value))
                        }
                        var expected = present.filter { lowerOK($0) && upperOK($0) }
                        if reverse { expected.reverse() }
                        #expect(got.map(\.0) == expected, "lower \(lower) upper \(upper)")
                        #expect(got.allSatisfy { $0.1 == $0.0 * 10 })
                    }
                }
            }
        }
    }

    @Test func cursorMovesAndSeeks() throws {
        try withTemporaryDirectory { dir in
            let env = try openEnvironment(dir)
            let db = try env.openDatabase("cursor")
            try env.write { txn in for n: UInt32 in [10, 20, 30] { try txn.put(db, key: key32(n), value: []) } }
            try env.read { txn throws in
                let cursor = try txn.cursor(db)
                func at(_ entry: Entry?) -> UInt32? { entry.map { BigEndian.read(UInt32.self, from: $0.key) } }
                #expect(at(try cursor.seek(atOrAfter: key32(15))) == 20)
                #expect(at(try cursor.next()) == 30)
                #expect(at(try cursor.next()) == nil)
                #expect(at(try key32(25).withUnsafeBytes { try cursor.seek(atOrBefore: $0) }) == 20)
                #expect(at(try key32(5).withUnsafeBytes { try cursor.seek(atOrBefore: $0) }) == nil)
                #expect(at(try key32(99).withUnsafeBytes { try cursor.seek(atOrBefore: $0) }) == 30)
                #expect(at(try cursor.first()) == 10)
                #expect(at(try cursor.previous()) == nil)
                #expect(at(try cursor.seek(exactly: key32(20))) == 20)
                #expect(at(try cursor.seek(exactly: key32(21))) == nil)
            }
        }
    }
}

@Suite struct DuplicatesAndAppend {
    @Test func dupSortKeepsSortedValuesPerKey() throws {
        try withTemporaryDirectory { dir in
            let env = try openEnvironment(dir)
            let db = try env.openDatabase("dups", flags: [.create, .dupSort])
            try env.write { txn throws in
                for value: UInt8 in [3, 1, 2] { try txn.put(db, key: [1], value: [value]) }
                try txn.put(db, key: [2], value: [9])
                try txn.put(db, key: [0], value: [5])
                #expect(try txn.put(db, key: [1], value: [2], flags: .noDuplicateData) == false)
            }
            try env.read { txn throws in
                #expect(try txn.entries(db).map { [$0.key[0], $0.value[0]] } == [[0, 5], [1, 1], [1, 2], [1, 3], [2, 9]])
                #expect(try txn.entries(db, to: .inclusive([1]), reverse: true).map { $0.value[0] } == [3, 2, 1, 5])
                #expect(try txn.entries(db, from: .exclusive([1])).map { $0.value[0] } == [9])
                let cursor = try txn.cursor(db)
                _ = try cursor.seek(exactly: [1])
                #expect(try cursor.valueCount() == 3)
                #expect(try cursor.nextDuplicate()?.value.first == 2)
            }
            try env.write { txn throws in #expect(try txn.delete(db, key: [1], value: [2])) }
            #expect(try env.read { try $0.entries(db, from: .inclusive([1]), to: .inclusive([1])).map { $0.value[0] } } == [1, 3])
        }
    }

    @Test func appendAcceptsOnlyAscendingKeys() throws {
        try withTemporaryDirectory { dir in
            let env = try openEnvironment(dir)
            let db = try env.openDatabase("log")
            try env.write { txn in for n in UInt32(0)..<1000 { try txn.put(db, key: key32(n), value: [1], flags: .append) } }
            #expect(try env.read { try $0.statistics(db).entries } == 1000)
            let error = #expect(throws: LMDBError.self) {
                try env.write { txn in try txn.put(db, key: key32(5), value: [1], flags: .append) }
            }
            #expect(error?.code == .keyExists)
        }
    }
}

@Suite struct MapGrowth {
    @Test func growsFrom64KiBThrough100MBWithoutCallerSeeingMapFull() throws {
        try withTemporaryDirectory { dir in
            let env = try openEnvironment(dir) { $0.mapSize = 64 << 10; $0.maxMapSize = 1 << 30; $0.durability = .unsafeNoSync }
            let db = try env.openDatabase("bulk")
            let value = [UInt8](repeating: 0xAB, count: 1000)
            for batch in UInt32(0)..<100 {
                try env.write { txn throws in
                    for i in UInt32(0)..<1000 { try txn.put(db, key: key32(batch * 1000 + i), value: value) }
                }
            }
            let info = try env.info()
            #expect(info.mapGrowths > 0)
            #expect(info.mapSize >= 100_000_000)
            try env.read { txn throws in
                #expect(try txn.statistics(db).entries == 100_000)
                #expect(try txn.value(db, key: key32(99_999)) == value)
            }
        }
    }

    @Test func pastTheMaximumIsATypedErrorNamingTheLimit() throws {
        try withTemporaryDirectory { dir in
            let env = try openEnvironment(dir) { $0.mapSize = 64 << 10; $0.maxMapSize = 1 << 20 }
            let db = try env.openDatabase("bulk")
            let error = #expect(throws: LMDBError.self) {
                try env.write { txn throws in
                    for i in UInt32(0)..<4000 { try txn.put(db, key: key32(i), value: [UInt8](repeating: 1, count: 1000)) }
                }
            }
            #expect(error?.code == .mapSizeLimitReached(mapSize: 1 << 20, maxMapSize: 1 << 20))
            #expect(error?.message.contains("maxMapSize") == true)
            // The store is still usable after the failure.
            try env.write { try $0.put(db, key: [1], value: [1]) }
            #expect(try env.read { try $0.value(db, key: [1]) } == [1])
        }
    }
}

@Suite struct Concurrency {
    /// Eight reader threads and a writer: every read sees a whole transaction, where the two balances
    /// always sum to the same total and the ledger has one entry per transfer.
    @Test func readersSeeConsistentSnapshotsWhileAWriterWrites() throws {
        try withTemporaryDirectory { dir in
            let env = try openEnvironment(dir) { $0.mapSize = 64 << 10 }
            let balances = try env.openDatabase("balances")
            let ledger = try env.openDatabase("ledger")
            let total: Int64 = 1_000_000
            try env.write { txn throws in
                try txn.put(balances, key: Array("a".utf8), value: BigEndian.bytes(total))
                try txn.put(balances, key: Array("b".utf8), value: BigEndian.bytes(Int64(0)))
            }
            let transfers = 2000
            let violations = Atomic(0)
            let reads = Atomic(0)
            let writerDone = Atomic(false)
            let group = DispatchGroup()
            for _ in 0..<8 {
                DispatchQueue.global().async(group: group) {
                    while !writerDone.load(ordering: .acquiring) || reads.load(ordering: .relaxed) < 8 {
                        let ok = (try? env.read { txn -> Bool in
                            let a = BigEndian.read(Int64.self, from: try txn.get(balances, key: Array("a".utf8))!)
                            let b = BigEndian.read(Int64.self, from: try txn.get(balances, key: Array("b".utf8))!)
                            let entries = try txn.statistics(ledger).entries
                            return a + b == total && Int(b) == entries
                        }) ?? false
                        if !ok { violations.add(1, ordering: .relaxed) }
                        reads.add(1, ordering: .relaxed)
                    }
                }
            }
            for n in 0..<transfers {
                try env.write { txn throws in
                    let a = BigEndian.read(Int64.self, from: try txn.get(balances, key: Array("a".utf8))!)
                    let b = BigEndian.read(Int64.self, from: try txn.get(balances, key: Array("b".utf8))!)
                    try txn.put(balances, key: Array("a".utf8), value: BigEndian.bytes(a - 1))
                    try txn.put(ledger, key: BigEndian.bytes(UInt32(n)), value: [UInt8](repeating: 0, count: 64))
                    try txn.put(balances, key: Array("b".utf8), value: BigEndian.bytes(b + 1))
                }
            }
            writerDone.store(true, ordering: .releasing)
            group.wait()
            #expect(violations.load(ordering: .relaxed) == 0)
            #expect(reads.load(ordering: .relaxed) >= 8)
            #expect(try env.read { try $0.statistics(ledger).entries } == transfers)
        }
    }

    /// Another process (LMDB's own `mdb_load`) writes into the store and grows its map while this one
    /// holds it open: this process sees the new data and adopts the larger map (`MDB_MAP_RESIZED`).
    @Test func aSecondProcessWritesWhileThisOneReads() throws {
        try withTemporaryDirectory { dir in
            let env = try openEnvironment(dir) { $0.mapSize = 256 << 10 }
            let mine = try env.openDatabase("mine")
            try env.write { try $0.put(mine, key: [1], value: [1]) }
            let count = 20_000
            var dump = "VERSION=3\nformat=bytevalue\ntype=btree\nmapsize=67108864\nHEADER=END\n"
            let value = String(repeating: "ab", count: 200)
            for i in 0..<count { dump += " \(String(format: "%08x", i))\n \(value)\n" }
            dump += "DATA=END\n"
            let dumpPath = dir + "/other.dump"
            try dump.write(toFile: dumpPath, atomically: true, encoding: .utf8)

            let before = try env.read { txn in try txn.value(mine, key: [1]) }
            let loaded = try env.read { txn throws in
                // A read transaction stays open across the other process's commit.
                let loaded = try runProcess("/usr/bin/mdb_load", ["-s", "theirs", "-f", dumpPath, dir])
                #expect(try txn.value(mine, key: [1]) == before)
                return loaded
            }
            #expect(loaded.status == 0, "mdb_load: \(loaded.stderr)")
            let theirs = try env.openDatabase("theirs", flags: [])
            try env.read { txn throws in
                #expect(try txn.statistics(theirs).entries == count)
                #expect(try txn.value(theirs, key: BigEndian.bytes(UInt32(count - 1)))?.count == 200)
            }
            try env.write { try $0.put(mine, key: [2], value: [2]) }
            #expect(try env.info().mapSize >= 64 << 20)
        }
    }
}

@Suite struct OpeningAndErrors {
    @Test func openingTheSamePathTwiceReturnsTheOpenEnvironment() throws {
        try withTemporaryDirectory { dir in
            let first = try openEnvironment(dir)
            let second = try openEnvironment(dir + "/.")
            #expect(first === second)
            let error = #expect(throws: LMDBError.self) { try openEnvironment(dir) { $0.maxReaders = 7 } }
            #expect(error?.code == .alreadyOpen(path: first.path))
        }
    }

    @Test func filesAreCreatedPrivate() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/store"
            _ = try openEnvironment(path)
            let attributes = try FileManager.default.attributesOfItem(atPath: path + "/data.mdb")
            #expect((attributes[.posixPermissions] as? Int) == 0o600)
            let dirAttributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((dirAttributes[.posixPermissions] as? Int) == 0o700)
        }
    }

    @Test func errorsCarryCodeOperationAndLMDBText() throws {
        try withTemporaryDirectory { dir in
            let env = try openEnvironment(dir)
            let db = try env.openDatabase("errors")
            let tooLong = #expect(throws: LMDBError.self) {
                try env.write { txn in try txn.put(db, key: [UInt8](repeating: 1, count: 512), value: [1]) }
            }
            #expect(tooLong?.code == .badValueSize)
            #expect(tooLong?.operation == "mdb_put errors")
            #expect(tooLong?.description.contains("mdb_put errors: ") == true)

            let filePath = dir + "/plain-file"
            _ = FileManager.default.createFile(atPath: filePath, contents: Data([1, 2, 3]))
            let notADirectory = #expect(throws: LMDBError.self) { try openEnvironment(filePath + "/sub") }
            #expect(notADirectory?.code == .system(errno: ENOTDIR))

            let missing = #expect(throws: LMDBError.self) { try env.openDatabase("absent", flags: []) }
            #expect(missing?.code == .notFound)
        }
        #expect(LMDBError(returnCode: -30792, operation: "x").code == .mapFull)
        #expect(LMDBError(returnCode: -30798, operation: "x").code == .notFound)
        #expect(LMDBError(returnCode: ENOSPC, operation: "write").code == .system(errno: ENOSPC))
        #expect(LMDBError(returnCode: ENOSPC, operation: "write").message.contains("space"))
    }

    /// A write inside a write on the same thread stops the process with the wrapper's message.
    /// Everything else is done and checked here, in the test's own process: the directory, the
    /// environment and its database exist, and a write on its own succeeds. The exit test's child
    /// (a new process: an open environment cannot be handed to it) only reopens that environment
    /// and nests the writes. The child's stderr must carry the precondition's message: any other
    /// way for it to fail (a thrown open ends in the same SIGILL as a failed precondition) fails
    /// this test instead of passing it.
    @Test(.enabled(if: preconditionsPrintTheirMessage, "an optimized build traps without the message that tells why"))
    func nestedWriteOnOneThreadStopsLoudly() async throws {
        try await withTemporaryDirectory { dir in
            do {
                let env = try openEnvironment(dir)
                let db = try env.openDatabase("nested")
                try env.write { try $0.put(db, key: [1], value: [1]) }
                #expect(try env.read { try $0.value(db, key: [1]) } == [1])
            }

            let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) { [dir = dir as String] in
                let env = try Environment.open(path: dir)
                let db = try env.openDatabase("nested", flags: [])
                try env.write { _ in try env.write { try $0.put(db, key: [2], value: [2]) } }
            }
            let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
            #expect(stderr.contains("nested write transaction on the same thread"), "the exit test's stderr: \(stderr)")
        }
    }
}

#if DEBUG
private let preconditionsPrintTheirMessage = true
#else
private let preconditionsPrintTheirMessage = false  // -O: a failed precondition traps, printing nothing
#endif
