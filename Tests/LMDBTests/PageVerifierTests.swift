import Foundation
import LMDB
import TestSupport
import Testing

// The verifier must find damage that would crash liblmdb, and never crash itself. Each test builds a
// healthy store, closes it, damages data.mdb with pwrite where a small independent reader of the file
// (`StoreFile`, below) says a page of the wanted kind is, and verifies it again. After damage, nothing
// here traverses the store through liblmdb: that is what could crash.

/// The named databases of the healthy store, with what each one exercises.
private enum Names {
    /// Thousands of entries: branch pages, depth 2 or more.
    static let messages = "messages"
    static let conversations = "conversations"
    /// Values larger than a page: overflow pages.
    static let attachments = "attachments"
    /// `dupSort`: values in sub-pages and, for the busiest keys, in sub-databases.
    static let tags = "tags"
    /// `dupSort` + `dupFixed`: values in P_LEAF2 sub-pages and sub-databases.
    static let readings = "readings"
    /// `reverseKey`: keys ordered from their last byte.
    static let reversed = "reversed"
}

private func messageKey(_ i: Int) -> [UInt8] { Array("message-\(String(format: "%06d", i))".utf8) }

private func bytes(_ count: Int, seed: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed) } }

/// Builds the healthy store in `dir` and closes it: several commits, so the free-page database has records.
private func makeHealthyStore(_ dir: String) throws {
    // No fsync: the layout of the file is the same, and the next open reads it through the page cache.
    var options = EnvironmentOptions()
    options.durability = .unsafeNoSync
    let env = try Environment.open(path: dir, options: options)
    let messages = try env.openDatabase(Names.messages)
    let conversations = try env.openDatabase(Names.conversations)
    let attachments = try env.openDatabase(Names.attachments)
    let tags = try env.openDatabase(Names.tags, flags: [.create, .dupSort])
    let readings = try env.openDatabase(Names.readings, flags: [.create, .dupSort, .dupFixed])
    let reversed = try env.openDatabase(Names.reversed, flags: [.create, .reverseKey])
    try env.write { txn in
        for i in 0..<6000 { try txn.put(messages, key: messageKey(i), value: bytes(60 + i % 80, seed: i)) }
        for i in 0..<800 { try txn.put(conversations, key: BigEndian.bytes(UInt32(i * 7)), value: bytes(40, seed: i)) }
        for i in 0..<30 { try txn.put(attachments, key: BigEndian.bytes(UInt16(i)), value: bytes(5000 + i * 500, seed: i)) }
        for i in 0..<300 { try txn.put(reversed, key: Array("\(i)-r".utf8), value: [UInt8(i % 256)]) }
    }
    try env.write { txn in
        for key in 0..<40 {
            // 1 value (a plain node), a few (a sub-page), or hundreds (a sub-database).
            let count = key % 10 == 0 ? 700 : key % 3 == 0 ? 1 : 6
            for v in 0..<count { try txn.put(tags, key: [UInt8(key)], value: Array("tag-\(v)".utf8)) }
        }
        for key in 0..<12 {
            let count = key % 4 == 0 ? 1500 : 5
            for v in 0..<count { try txn.put(readings, key: [UInt8(key)], value: BigEndian.bytes(UInt32(v * 3))) }
        }
    }
    try env.write { txn in
        for i in stride(from: 0, to: 6000, by: 7) { try txn.delete(messages, key: messageKey(i)) }
        for i in 0..<10 { try txn.put(attachments, key: BigEndian.bytes(UInt16(i)), value: bytes(9000, seed: i + 1)) }
        for v in 0..<300 { try txn.delete(tags, key: [0], value: Array("tag-\(v)".utf8)) }
    }
}

/// The free pages LMDB itself counts (`mdb_stat -f`), to check the verifier's page count against.
private func freePagesByMDBStat(_ dir: String) throws -> Int? {
    let result = try runProcess("/usr/bin/mdb_stat", ["-f", dir])
    guard result.status == 0, let line = result.stdout.split(separator: "\n").first(where: { $0.contains("Free pages:") }) else { return nil }
    return Int(line.split(separator: ":").last!.trimmingCharacters(in: .whitespaces))
}

// MARK: - A small reader of the healthy file, to find pages to damage

/// Reads a *healthy* data.mdb just far enough to say where pages of each kind are. Written apart from
/// the verifier on purpose (so that a misreading in one is not hidden by the same misreading in the
/// other), and trusting the file, which only holds before the damage.
private struct StoreFile {
    let path: String
    let bytes: [UInt8]
    let pageSize: Int
    /// The offset of the newest meta page's MDB_meta (after its 16-byte page header).
    let meta: Int

    init(directory: String) throws {
        self.path = directory + "/data.mdb"
        self.bytes = Array(try Data(contentsOf: URL(fileURLWithPath: self.path)))
        let pageSize = Int(Self.load(self.bytes, 40) as UInt32)
        self.pageSize = pageSize
        let newest = Self.load(self.bytes, 144) as UInt64 >= Self.load(self.bytes, pageSize + 144) as UInt64 ? 0 : 1
        self.meta = newest * pageSize + 16
    }

    private static func load<T: FixedWidthInteger>(_ bytes: [UInt8], _ offset: Int) -> T {
        bytes.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: offset, as: T.self) }
    }

    func u16(_ offset: Int) -> Int { Int(Self.load(self.bytes, offset) as UInt16) }
    func u64(_ offset: Int) -> UInt64 { Self.load(self.bytes, offset) }

    var pageCount: Int { self.bytes.count / self.pageSize }
    /// The newest meta page's number.
    var metaPage: Int { self.meta / self.pageSize }
    /// Where the newest meta page's MDB_db records are: the free-page database's, then the main one's.
    var freeRecord: Int { self.meta + 24 }
    var mainRecord: Int { self.meta + 72 }

    func start(_ page: UInt64) -> Int { Int(page) * self.pageSize }
    func flags(_ page: UInt64) -> Int { self.u16(self.start(page) + 10) }
    func isBranch(_ page: UInt64) -> Bool { self.flags(page) == 0x01 }
    /// The absolute offsets of a page's nodes.
    func nodes(_ page: UInt64) -> [Int] {
        let lower = self.u16(self.start(page) + 12)
        return (0..<(lower - 16) / 2).map { self.start(page) + self.u16(self.start(page) + 16 + 2 * $0) }
    }
    func child(_ node: Int) -> UInt64 { UInt64(self.u16(node)) | UInt64(self.u16(node + 2)) << 16 | UInt64(self.u16(node + 4)) << 32 }
    func key(_ node: Int) -> [UInt8] { Array(self.bytes[(node + 8)..<(node + 8 + self.u16(node + 6))]) }
    func data(_ node: Int) -> Int { node + 8 + self.u16(node + 6) }

    /// The leaf pages under `root`, left to right.
    func leaves(under root: UInt64) -> [UInt64] {
        self.isBranch(root) ? self.nodes(root).flatMap { self.leaves(under: self.child($0)) } : [root]
    }

    /// The offset of the MDB_db record of the named database `name`, in a leaf of the main database.
    func record(of name: String) -> Int {
        let mainRoot = self.u64(self.mainRecord + 40)
        for leaf in self.leaves(under: mainRoot) {
            if let node = self.nodes(leaf).first(where: { self.key($0) == Array(name.utf8) }) { return self.data(node) }
        }
        fatalError("no named database \(name) in the healthy store")
    }

    func root(of name: String) -> UInt64 { self.u64(self.record(of: name) + 40) }
}

/// Writes `bytes` at `offset` of the file.
private func overwrite(_ path: String, at offset: Int, with bytes: [UInt8]) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: UInt64(offset))
    try handle.write(contentsOf: Data(bytes))
}

private func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
private func le64(_ value: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
/// A branch node's child page number is spread over mn_lo, mn_hi and mn_flags.
private func childBytes(_ page: UInt64) -> [UInt8] { Array(le64(page).prefix(6)) }

// MARK: - Damage

/// One kind of damage, how to make it in the healthy file, and what the verifier must say.
private enum Damage: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case branchByteFlipped
    case branchChildPastTheFile
    case branchChildIsAMetaPage
    case cycleToTheRoot
    case twoChildrenShareAPage
    case leafBoundsZeroed
    case leafNodeOffsetPastThePage
    case leafKeySizeTooLarge
    case leafNodesSwapped
    case leafHeaderHasAnotherPageNumber
    case leafMarkedDirty
    case overflowRunTooShort
    case overflowPointerPastTheFile
    case duplicatesSubDatabaseRootPastTheFile
    case fixedSizeValuesPageSizeChanged
    case namedRootPastTheFile
    case entriesMiscounted
    case freePageInUse
    case mainRootPastTheFile
    case metaMagicDamaged
    case metaPageSizeZeroed
    case fileTruncated

    var testDescription: String { self.rawValue }

    /// Whether the environment still opens: liblmdb checks only the meta pages' magic and version,
    /// and `Environment.open` refuses, before liblmdb sees it, a meta page whose page size or root
    /// it could not survive (a page size of 0 makes mdb_env_open divide by zero).
    enum Opening { case opens, refuses }

    var opening: Opening {
        switch self {
        case .metaMagicDamaged, .metaPageSizeZeroed, .mainRootPastTheFile, .fileTruncated: .refuses
        default: .opens
        }
    }

    /// Damages the healthy file; returns the label the problems must name, and a phrase one of them must hold.
    func apply(to file: StoreFile) throws -> (label: String, phrase: String) {
        let path = file.path
        let root = file.root(of: Names.messages)
        precondition(file.isBranch(root), "the healthy store's messages tree must have a branch root")
        // The leftmost branch page right above the leaves: the one with the most nodes to damage.
        var branch = root
        while file.isBranch(file.child(file.nodes(branch)[0])) { branch = file.child(file.nodes(branch)[0]) }
        let branchNodes = file.nodes(branch)
        let leaf = file.leaves(under: root)[3]
        let leafNodes = file.nodes(leaf)
        switch self {
        case .branchByteFlipped:
            // The middle of the node area, where the nodes (child page numbers and keys) are.
            let upper = file.u16(file.start(branch) + 14)
            let offset = file.start(branch) + (upper + file.pageSize) / 2
            try overwrite(path, at: offset, with: [file.bytes[offset] ^ 0xFF])
            return (Names.messages, "page")
        case .branchChildPastTheFile:
            try overwrite(path, at: branchNodes[1], with: childBytes(UInt64(file.pageCount + 1000)))
            return (Names.messages, "past the last page in use")
        case .branchChildIsAMetaPage:
            try overwrite(path, at: branchNodes[1], with: childBytes(1))
            return (Names.messages, "a meta page")
        case .cycleToTheRoot:
            try overwrite(path, at: branchNodes[branchNodes.count - 1], with: childBytes(root))
            return (Names.messages, "reached before")
        case .twoChildrenShareAPage:
            try overwrite(path, at: branchNodes[2], with: childBytes(file.child(branchNodes[1])))
            return (Names.messages, "reached before")
        case .leafBoundsZeroed:
            try overwrite(path, at: file.start(leaf) + 12, with: [0, 0, 0, 0])
            return (Names.messages, "page \(leaf): free-space bounds lower 0, upper 0")
        case .leafNodeOffsetPastThePage:
            try overwrite(path, at: file.start(leaf) + 16 + 2 * 3, with: le16(file.pageSize + 904))
            return (Names.messages, "page \(leaf): node 3 points outside the page (offset \(file.pageSize + 904) of \(file.pageSize))")
        case .leafKeySizeTooLarge:
            try overwrite(path, at: leafNodes[2] + 6, with: le16(0xFFFF))
            return (Names.messages, "page \(leaf): the key of node 2 (65535 bytes")
        case .leafNodesSwapped:
            let pointers = file.start(leaf) + 16
            try overwrite(path, at: pointers, with: Array(file.bytes[(pointers + 2)..<(pointers + 4)] + file.bytes[pointers..<(pointers + 2)]))
            return (Names.messages, "page \(leaf): the key of node 1 does not sort after the one before it")
        case .leafHeaderHasAnotherPageNumber:
            try overwrite(path, at: file.start(leaf), with: le64(UInt64(leaf + 1)))
            return (Names.messages, "page \(leaf): its header says page \(leaf + 1)")
        case .leafMarkedDirty:
            try overwrite(path, at: file.start(leaf) + 10, with: le16(0x12))
            return (Names.messages, "page \(leaf): page flags 0x12")
        case .overflowRunTooShort, .overflowPointerPastTheFile:
            let attachments = file.leaves(under: file.root(of: Names.attachments))
            guard let big = attachments.lazy.flatMap({ file.nodes($0) }).first(where: { file.u16($0 + 4) == 0x01 }) else {
                fatalError("the healthy store's attachments must have overflow pages")
            }
            let overflow = file.u64(file.data(big))
            if self == .overflowRunTooShort {
                try overwrite(path, at: file.start(overflow) + 12, with: [1, 0, 0, 0])
                return (Names.attachments, "overflow page \(overflow): a run of 1 page, but")
            }
            try overwrite(path, at: file.data(big), with: le64(UInt64(file.pageCount) * 3))
            return (Names.attachments, "past the last page in use")
        case .duplicatesSubDatabaseRootPastTheFile:
            let tags = file.leaves(under: file.root(of: Names.tags))
            guard let sub = tags.lazy.flatMap({ file.nodes($0) }).first(where: { file.u16($0 + 4) == 0x06 }) else {
                fatalError("the healthy store's tags must have a sub-database")
            }
            try overwrite(path, at: file.data(sub) + 40, with: le64(UInt64(file.pageCount) + 7))
            return ("\(Names.tags) (values of key", "past the last page in use")
        case .fixedSizeValuesPageSizeChanged:
            let readings = file.leaves(under: file.root(of: Names.readings))
            guard let sub = readings.lazy.flatMap({ file.nodes($0) }).first(where: { file.u16($0 + 4) == 0x06 }) else {
                fatalError("the healthy store's readings must have a sub-database")
            }
            // The size of a fixed-size value, which liblmdb steps through a P_LEAF2 page with.
            try overwrite(path, at: file.data(sub), with: [0xFF, 0x7F, 0, 0])
            return ("\(Names.readings) (values of key", "the database record says 32767")
        case .namedRootPastTheFile:
            try overwrite(path, at: file.record(of: Names.messages) + 40, with: le64(UInt64(file.pageCount) + 5))
            return (Names.messages, "its record in (main) page")
        case .entriesMiscounted:
            let record = file.record(of: Names.conversations)
            try overwrite(path, at: record + 32, with: le64(file.u64(record + 32) + 1))
            return (Names.conversations, "the database record counts 801 entries; the tree holds 800")
        case .freePageInUse:
            let freeRoot = file.u64(file.freeRecord + 40)
            let node = file.nodes(file.leaves(under: freeRoot)[0])[0]
            precondition(file.u16(node + 4) == 0 && file.u64(file.data(node)) > 0, "the first free-page record must be in its page and list pages")
            try overwrite(path, at: file.data(node) + 8, with: le64(leaf))
            return ("(free pages)", "page \(leaf) is listed as free but a tree uses it")
        case .mainRootPastTheFile:
            try overwrite(path, at: file.mainRecord + 40, with: le64(UInt64(file.pageCount) + 9))
            return ("(main)", "the root in meta page \(file.metaPage) points to page \(file.pageCount + 9)")
        case .metaMagicDamaged:
            try overwrite(path, at: file.meta, with: [0xDE, 0xC0, 0xEF, 0x00])
            return ("meta page \(file.metaPage)", "magic 0xefc0de")
        case .metaPageSizeZeroed:
            try overwrite(path, at: file.freeRecord, with: [0, 0, 0, 0])
            return ("meta page \(file.metaPage)", "page size 0")
        case .fileTruncated:
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
            try handle.truncate(atOffset: UInt64(file.pageCount / 2 * file.pageSize))
            try handle.close()
            return (Names.messages, "past the end of the file")
        }
    }
}

/// The labels a problem may start with: a database, a sub-database of one, a meta page, the file.
private func namesAPlace(_ problem: String) -> Bool {
    let labels = [Names.messages, Names.conversations, Names.attachments, Names.tags, Names.readings, Names.reversed, "(main)", "(free pages)"]
    return labels.contains { problem.hasPrefix($0 + ":") || problem.hasPrefix($0 + " (values of key") }
        || problem.hasPrefix("meta page") || problem.hasPrefix("data.mdb") || problem.hasPrefix("meta pages")
}

@Suite struct PageVerifier {
    @Test func aHealthyStoreIsSoundAndEveryPageInUseIsVisited() throws {
        try withTemporaryDirectory { dir in
            try makeHealthyStore(dir)
            let env = try Environment.open(path: dir)
            let report = try env.verifyPages()
            #expect(report.isSound, "\(report.problems)")
            // Every page up to the last is a meta page, a free page or a page of a tree (LMDB's own audit).
            let free = try #require(try freePagesByMDBStat(dir))
            let info = try env.info()
            #expect(report.pagesVisited == info.lastPageNumber + 1 - 2 - free)
            #expect(try Environment.verifyPages(ofDirectory: dir) == report)

            // The store has what the damage tests rely on.
            let messages = try env.openDatabase(Names.messages, flags: [])
            let attachments = try env.openDatabase(Names.attachments, flags: [])
            try env.read { txn throws in
                #expect(try txn.statistics(messages).depth >= 2)
                #expect(try txn.statistics(attachments).overflowPages > 0)
            }
            let file = try StoreFile(directory: dir)
            for name in [Names.tags, Names.readings] {
                let nodes = file.leaves(under: file.root(of: name)).flatMap { file.nodes($0) }
                #expect(nodes.contains { file.u16($0 + 4) == 0x06 }, "\(name) has a sub-database")
                #expect(nodes.contains { file.u16($0 + 4) == 0x04 }, "\(name) has a sub-page")
            }
        }
    }

    @Test(arguments: Damage.allCases)
    fileprivate func damageIsReportedNamingTheDatabase(_ damage: Damage) throws {
        try withTemporaryDirectory { dir in
            try makeHealthyStore(dir)
            let (label, phrase) = try damage.apply(to: try StoreFile(directory: dir))

            let offline = try Environment.verifyPages(ofDirectory: dir)
            #expect(!offline.isSound)
            #expect(offline.problems.contains { $0.hasPrefix(label) && $0.contains(phrase) }, "\(offline.problems)")
            #expect(offline.problems.allSatisfy(namesAPlace), "\(offline.problems)")

            switch damage.opening {
            case .opens:
                let env = try Environment.open(path: dir)
                // Only the snapshot's meta page is read through liblmdb; the trees are not touched.
                let report = try env.verifyPages()
                #expect(report == offline)
            case .refuses:
                #expect(throws: LMDBError.self) { try Environment.open(path: dir) }
            }
        }
    }

    @Test func theWalkStopsAtMaxProblems() throws {
        try withTemporaryDirectory { dir in
            try makeHealthyStore(dir)
            _ = try Damage.fileTruncated.apply(to: try StoreFile(directory: dir))
            #expect(try Environment.verifyPages(ofDirectory: dir).problems.count > 3)
            #expect(try Environment.verifyPages(ofDirectory: dir, maxProblems: 3).problems.count == 3)
        }
    }

    @Test func aMissingDataFileIsAnError() {
        withTemporaryDirectory { dir in
            let error = #expect(throws: LMDBError.self) { try Environment.verifyPages(ofDirectory: dir) }
            #expect(error?.code == .system(errno: ENOENT))
        }
    }

    @Test func aFileTooShortForTheMetaPagesIsReported() throws {
        try withTemporaryDirectory { dir in
            try makeHealthyStore(dir)
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: dir + "/data.mdb"))
            try handle.truncate(atOffset: 100)
            try handle.close()
            let report = try Environment.verifyPages(ofDirectory: dir)
            #expect(report.problems.contains { $0.hasPrefix("meta page 0:") && $0.contains("too short") }, "\(report.problems)")
            #expect(report.pagesVisited == 0)
        }
    }

    /// Many commits of puts, overwrites and deletes (page splits, merges, overflow pages freed and
    /// reused, sub-pages grown into sub-databases and back): the verifier must find nothing wrong.
    @Test func aStoreAfterManyCommitsStaysSound() throws {
        try withTemporaryDirectory { dir in
            let env = try Environment.open(path: dir)
            let plain = try env.openDatabase("plain")
            let dups = try env.openDatabase("dups", flags: [.create, .dupSort])
            var random = SplitMix64(seed: UInt64.random(in: 0...UInt64.max))
            let seed = random.state
            for round in 0..<40 {
                try env.write { txn in
                    for _ in 0..<400 {
                        let key = BigEndian.bytes(UInt32(random.next() % 3000))
                        switch random.next() % 6 {
                        case 0: try txn.delete(plain, key: key)
                        case 1: try txn.put(plain, key: key, value: bytes(Int(random.next() % 12_000), seed: round))
                        case 2: try txn.put(dups, key: Array(key.suffix(1)), value: BigEndian.bytes(UInt16(random.next() % 2000)))
                        case 3: try txn.delete(dups, key: Array(key.suffix(1)), value: BigEndian.bytes(UInt16(random.next() % 2000)))
                        default: try txn.put(plain, key: key, value: bytes(Int(random.next() % 200), seed: round))
                        }
                    }
                }
                if round % 8 == 7 {
                    let report = try env.verifyPages()
                    #expect(report.isSound, "seed \(seed), round \(round): \(report.problems)")
                    let free = try #require(try freePagesByMDBStat(dir))
                    #expect(report.pagesVisited == (try env.info().lastPageNumber) + 1 - 2 - free, "seed \(seed), round \(round)")
                }
            }
        }
    }

    /// 200 single-byte flips at random places of a healthy store, each undone before the next: the
    /// verifier returns every time, sound or not, and both entry points agree.
    @Test func randomByteFlipsNeverCrashTheVerifier() throws {
        try withTemporaryDirectory { dir in
            try makeHealthyStore(dir)
            let path = dir + "/data.mdb"
            let file = try StoreFile(directory: dir)
            var random = SplitMix64(seed: UInt64.random(in: 0...UInt64.max))
            let seed = random.state
            var damaged = 0
            for flip in 0..<200 {
                let page = Int(random.next() % UInt64(file.pageCount))
                // Half the flips in the first 64 bytes of a page: the header and the first node pointers,
                // where nearly every byte matters; the rest anywhere, mostly in keys and values.
                let within = random.next() % 2 == 0 ? random.next() % 64 : random.next() % UInt64(file.pageSize)
                let offset = page * file.pageSize + Int(within)
                let original = file.bytes[offset]
                try overwrite(path, at: offset, with: [original ^ UInt8(1 + random.next() % 255)])
                let offline = try Environment.verifyPages(ofDirectory: dir)
                #expect(offline.problems.allSatisfy(namesAPlace), "seed \(seed), flip \(flip) at \(offset): \(offline.problems)")
                if !offline.isSound { damaged += 1 }
                // Opening trusts the meta pages (a damaged page size can stop it), so only flips elsewhere
                // are checked through an open environment.
                if page >= 2 {
                    let env = try Environment.open(path: dir)
                    #expect(try env.verifyPages() == offline, "seed \(seed), flip \(flip) at \(offset)")
                }
                try overwrite(path, at: offset, with: [original])
            }
            // About 45 of 200 are found (most bytes are values, free space and free pages); a header flip
            // of a tree page always is. Far fewer means the checks stopped working.
            #expect(damaged >= 15, "seed \(seed): only \(damaged) of 200 flips were found")
            #expect(try Environment.verifyPages(ofDirectory: dir).isSound)
        }
    }
}

/// A small seeded generator, so that a failing run can be told by its seed.
private struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { self.state = seed }
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
