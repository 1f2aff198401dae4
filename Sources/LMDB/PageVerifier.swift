#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// LMDB trusts its pages: a flipped byte in a branch page, a page number past the end of the file or a
// node offset past the end of its page makes `mdb_get` and `mdb_cursor_get` read outside the memory
// map and the process dies with SIGSEGV or SIGBUS. The verifier below walks the B-trees itself, from
// the file's bytes read with `pread` (never through liblmdb, never through the map), so that `check`
// and `export` can find damage and report it before anything traverses the store through liblmdb.
//
// The layout is LMDB 0.9.x's (`mdb.c`: MDB_page, MDB_node, MDB_db, MDB_meta) on a 64-bit host, in the
// host's byte order, which is how LMDB writes it.

/// What ``Environment/verifyPages(maxProblems:)`` found in a data file.
public struct PageReport: Sendable, Equatable {
    /// How many pages of the trees were read and checked: the branch, leaf and overflow pages of the
    /// free-page database, the main database, every named database and every sub-database of sorted
    /// duplicates. The two meta pages are not counted. In a sound file this is every page in use:
    /// the number of pages up to the meta page's last page, less the two meta pages and the free pages.
    public var pagesVisited: Int
    /// One sentence per problem, naming the database, the page and what is wrong, for example
    /// `messages: page 1234: node 3 points outside the page (offset 5000 of 4096)`.
    /// The walk stops when it holds `maxProblems` sentences, so then it may not have seen every page.
    public var problems: [String]
    /// Whether no problem was found: every tree can be traversed by liblmdb without reading
    /// outside the file.
    public var isSound: Bool { self.problems.isEmpty }

    /// Makes a report.
    public init(pagesVisited: Int, problems: [String]) {
        self.pagesVisited = pagesVisited
        self.problems = problems
    }
}

extension Environment {
    /// Walks every B-tree of this environment's snapshot from the raw bytes of `data.mdb` and reports
    /// every structural problem found, without ever reading outside the file; run it before
    /// traversing a store that may be damaged through liblmdb, which would crash on the same damage.
    ///
    /// It holds a read transaction for the whole walk, so that the pages of its snapshot are stable
    /// while writers go on, and reads them with `pread` on a descriptor of its own. It reads the two
    /// meta pages (`MDB_meta`), takes the one of the snapshot's transaction, and walks the free-page
    /// database, the main database and each named database (the `MDB_db` records in the main
    /// database's leaves), with their overflow pages and sub-databases of sorted duplicates.
    /// Each page must be within the file and the last page in use, carry its own number and the
    /// flags its parent expects, have sane free-space bounds (`mp_lower`, `mp_upper`), node pointers
    /// and node sizes inside the page, keys in ascending order within the separators of its parent,
    /// and be reached only once; each tree's depth, page counts and entry count must match its
    /// `MDB_db` record, and every page the free-page database lists must be one no tree uses.
    /// Costs one `pread` per page and time linear in the size of the file.
    ///
    /// If `Environment.open` cannot open a damaged file, use ``verifyPages(ofDirectory:maxProblems:)``.
    /// - Parameter maxProblems: the walk stops after this many problems.
    /// - Throws: ``LMDBError`` if the data file cannot be opened; damage is reported, never thrown.
    public func verifyPages(maxProblems: Int = 100) throws -> PageReport {
        try self.read { txn in
            try PageVerification.run(directory: self.path, snapshot: UInt64(txn.id), maxProblems: maxProblems)
        }
    }

    /// Like ``verifyPages(maxProblems:)``, but straight from the files in `directory`, without opening
    /// an environment: no liblmdb call at all, so it works on a file LMDB refuses to open (a damaged
    /// meta page), and it cannot be crashed by one. Run it *before* `Environment.open` on a store that
    /// may be damaged: liblmdb trusts the newest meta page's page size when it opens a file, and a
    /// damaged one can stop the process inside `mdb_env_open` or the first transaction.
    ///
    /// It walks the snapshot of the newest meta page that LMDB would accept (right magic, version and
    /// page flags), and reports the problems of both. It takes no lock: a process writing the store
    /// meanwhile may reuse pages under it and cause spurious problems, so run it on a store no process
    /// is writing.
    /// - Parameters:
    ///   - directory: the environment's directory, holding `data.mdb`.
    ///   - maxProblems: the walk stops after this many problems.
    /// - Throws: ``LMDBError`` if `data.mdb` cannot be opened; damage is reported, never thrown.
    public static func verifyPages(ofDirectory directory: String, maxProblems: Int = 100) throws -> PageReport {
        try PageVerification.run(directory: directory, snapshot: nil, maxProblems: maxProblems)
    }
}

// MARK: - The on-disk layout

/// Sizes, offsets and flags of LMDB 0.9.x's data file on a 64-bit host (`mdb.c`).
private enum Layout {
    /// `PAGEHDRSZ`: mp_pgno u64, mp_pad u16, mp_flags u16, then mp_lower u16 and mp_upper u16
    /// (or mp_pages u32 on overflow pages); the node pointers (`mp_ptrs`, u16 each) follow.
    static let pageHeaderSize = 16
    /// `NODESIZE`: mn_lo u16, mn_hi u16, mn_flags u16, mn_ksize u16; key then data follow.
    static let nodeHeaderSize = 8
    /// `sizeof(MDB_db)`.
    static let databaseRecordSize = 48
    /// The page header and `MDB_meta` up to `mm_txnid`.
    static let metaSize = 152
    /// `MDB_meta.mm_dbs` starts here: after the page header, mm_magic, mm_version, mm_address, mm_mapsize.
    static let metaDatabasesOffset = 40
    static let metaLastPageOffset = 136
    static let metaTransactionOffset = 144
    static let magic: UInt32 = 0xBEEF_C0DE
    /// `MDB_DATA_VERSION` of a release build.
    static let dataVersion: UInt32 = 1
    /// `P_INVALID`: the root of an empty tree.
    static let noPage = UInt64.max
    /// `NUM_METAS`: pages 0 and 1.
    static let metaPages: UInt64 = 2
    /// `CURSOR_STACK`: liblmdb cannot descend deeper.
    static let maxDepth = 32

    // Page flags (`mp_flags`).
    static let branch = 0x01
    static let leaf = 0x02
    static let overflow = 0x04
    static let meta = 0x08
    static let dirty = 0x10
    static let leaf2 = 0x20
    static let subPage = 0x40

    // Node flags (`mn_flags` of leaf nodes).
    static let bigData = 0x01
    static let subData = 0x02
    static let dupData = 0x04

    // Database flags (`md_flags`).
    static let reverseKey = 0x02
    static let dupSort = 0x04
    static let integerKey = 0x08
    static let dupFixed = 0x10
    static let integerDup = 0x20
    static let reverseDup = 0x40
    static let knownDatabaseFlags = 0x7E
}

/// Host-order integers read from a buffer. A read that would pass the end yields 0 rather than
/// faulting: callers check bounds first and report, this is the last line of defence.
private struct RawBytes {
    let buffer: UnsafeRawBufferPointer

    var count: Int { self.buffer.count }

    func u16(_ offset: Int) -> Int { self.load(UInt16.self, offset).map(Int.init) ?? 0 }
    func u32(_ offset: Int) -> UInt32 { self.load(UInt32.self, offset) ?? 0 }
    func u64(_ offset: Int) -> UInt64 { self.load(UInt64.self, offset) ?? 0 }

    /// `length` bytes from `offset`, or none if they are not all inside.
    func slice(_ offset: Int, _ length: Int) -> UnsafeRawBufferPointer {
        guard offset >= 0, length >= 0, offset <= self.count, length <= self.count - offset else {
            return UnsafeRawBufferPointer(start: nil, count: 0)
        }
        return UnsafeRawBufferPointer(rebasing: self.buffer[offset..<(offset + length)])
    }

    func contains(_ offset: Int, _ length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= self.count && length <= self.count - offset
    }

    private func load<T: FixedWidthInteger>(_: T.Type, _ offset: Int) -> T? {
        guard self.contains(offset, MemoryLayout<T>.size) else { return nil }
        return self.buffer.loadUnaligned(fromByteOffset: offset, as: T.self)
    }
}

/// `MDB_db`: one tree's root, depth and counts.
private struct DatabaseRecord {
    var pad: UInt32
    var flags: Int
    var depth: Int
    var branchPages: UInt64
    var leafPages: UInt64
    var overflowPages: UInt64
    var entries: UInt64
    var root: UInt64

    init(_ bytes: RawBytes, at offset: Int) {
        self.pad = bytes.u32(offset)
        self.flags = bytes.u16(offset + 4)
        self.depth = bytes.u16(offset + 6)
        self.branchPages = bytes.u64(offset + 8)
        self.leafPages = bytes.u64(offset + 16)
        self.overflowPages = bytes.u64(offset + 24)
        self.entries = bytes.u64(offset + 32)
        self.root = bytes.u64(offset + 40)
    }
}

/// `MDB_meta`, the start of a snapshot: pages 0 and 1, written alternately by each commit.
private struct MetaPage {
    let index: Int
    var pageNumber: UInt64 = 0
    var flags = 0
    var magic: UInt32 = 0
    var version: UInt32 = 0
    /// `mm_psize`, kept in `mm_dbs[FREE_DBI].md_pad`.
    var pageSize = 0
    var freePages: DatabaseRecord
    var main: DatabaseRecord
    var lastPage: UInt64 = 0
    var transactionID: UInt64 = 0
    /// Passes the checks liblmdb makes when it opens the file, and has a usable page size.
    var isUsable = false
    var problems: [String] = []

    init(index: Int, bytes: RawBytes, offset: Int, fileSize: Int) {
        self.index = index
        self.freePages = DatabaseRecord(bytes, at: Layout.metaDatabasesOffset)
        self.main = DatabaseRecord(bytes, at: Layout.metaDatabasesOffset + Layout.databaseRecordSize)
        guard bytes.count >= Layout.metaSize else {
            self.problems.append("meta page \(index): data.mdb is \(fileSize) bytes, too short to hold it (at offset \(offset))")
            return
        }
        self.pageNumber = bytes.u64(0)
        self.flags = bytes.u16(10)
        self.magic = bytes.u32(16)
        self.version = bytes.u32(20)
        self.pageSize = Int(self.freePages.pad)
        self.lastPage = bytes.u64(Layout.metaLastPageOffset)
        self.transactionID = bytes.u64(Layout.metaTransactionOffset)

        var refused = false
        if self.flags & Layout.meta == 0 {
            self.problems.append("meta page \(index): page flags 0x\(hex(self.flags)) lack P_META; LMDB will not open the file")
            refused = true
        } else if self.flags != Layout.meta {
            self.problems.append("meta page \(index): page flags 0x\(hex(self.flags)), expected 0x08 (P_META)")
        }
        if self.magic != Layout.magic {
            self.problems.append("meta page \(index): magic 0x\(hex(self.magic)), expected 0xbeefc0de; LMDB will not open the file")
            refused = true
        }
        if self.version != Layout.dataVersion {
            self.problems.append("meta page \(index): format version \(self.version), expected \(Layout.dataVersion); LMDB will not open the file")
            refused = true
        }
        if self.pageNumber != UInt64(index) {
            self.problems.append("meta page \(index): its header says page \(self.pageNumber)")
        }
        let sizeIsSane = self.pageSize >= 512 && self.pageSize <= 65536 && self.pageSize & (self.pageSize - 1) == 0
        if !sizeIsSane {
            self.problems.append("meta page \(index): page size \(self.pageSize) is not a power of two from 512 to 65536")
        }
        self.isUsable = !refused && sizeIsSane
    }
}

/// How a database orders its keys (or a sorted-duplicates database its values), from its flags.
/// Custom comparators set with `mdb_set_compare` are not recorded in the file and cannot be checked.
private enum KeyOrder {
    /// `memcmp`, shorter first on a tie: LMDB's default.
    case bytes
    /// `MDB_REVERSEKEY` / `MDB_REVERSEDUP`: compared from the last byte.
    case reversedBytes
    /// `MDB_INTEGERKEY` / `MDB_INTEGERDUP`: native unsigned integers, all of one size.
    case integer

    init(keyFlags flags: Int) {
        if flags & Layout.reverseKey != 0 {
            self = .reversedBytes
        } else if flags & Layout.integerKey != 0 {
            self = .integer
        } else {
            self = .bytes
        }
    }

    init(duplicateFlags flags: Int) {
        if flags & Layout.integerDup != 0 {
            self = .integer
        } else if flags & Layout.reverseDup != 0 {
            self = .reversedBytes
        } else {
            self = .bytes
        }
    }

    /// Negative, zero or positive as `a` sorts before, with or after `b`; `nil` for integers of two sizes.
    func compare(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int? {
        switch self {
        case .bytes:
            return Self.forwards(a, b)
        case .reversedBytes:
            return Self.backwards(a, b)
        case .integer:
            guard a.count == b.count else { return nil }
            #if _endian(little)
            return Self.backwards(a, b)
            #else
            return Self.forwards(a, b)
            #endif
        }
    }

    private static func forwards(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        let common = min(a.count, b.count)
        if common > 0, let pa = a.baseAddress, let pb = b.baseAddress {
            let c = memcmp(pa, pb, common)
            if c != 0 { return Int(c) }
        }
        return a.count - b.count
    }

    private static func backwards(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        var i = a.count
        var j = b.count
        while i > 0 && j > 0 {
            i -= 1
            j -= 1
            if a[i] != b[j] { return Int(a[i]) - Int(b[j]) }
        }
        return a.count - b.count
    }
}

/// Pages seen, as one bit each.
private struct PageSet {
    private var words: [UInt64]

    init(capacity: Int) {
        self.words = Array(repeating: 0, count: (capacity + 63) / 64)
    }

    func contains(_ page: Int) -> Bool {
        self.words[page >> 6] & (1 << UInt64(page & 63)) != 0
    }

    /// Adds `page`; `false` if it was already there.
    mutating func insert(_ page: Int) -> Bool {
        let bit: UInt64 = 1 << UInt64(page & 63)
        if self.words[page >> 6] & bit != 0 { return false }
        self.words[page >> 6] |= bit
        return true
    }

    /// The pages in both sets, in ascending order.
    func intersection(_ other: PageSet) -> [Int] {
        var pages: [Int] = []
        for (index, word) in zip(self.words, other.words).map({ $0 & $1 }).enumerated() where word != 0 {
            for bit in 0..<64 where word & (1 << UInt64(bit)) != 0 { pages.append(index * 64 + bit) }
        }
        return pages
    }
}

private func hex<T: BinaryInteger>(_ value: T) -> String { String(value, radix: 16) }

/// Up to 16 bytes of a key in hex, for naming a sub-database.
private func hexPrefix(_ bytes: UnsafeRawBufferPointer) -> String {
    let shown = bytes.prefix(16).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    return bytes.count > 16 ? shown + "…" : shown
}

// MARK: - The walk

enum PageVerification {
    static func run(directory: String, snapshot: UInt64?, maxProblems: Int) throws -> PageReport {
        try self.walk(directory: directory, snapshot: snapshot, maxProblems: maxProblems, census: false).report
    }

    static func walk(directory: String, snapshot: UInt64?, maxProblems: Int, census: Bool) throws -> (report: PageReport, census: PageCensus) {
        let path = directory + "/data.mdb"
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw LMDBError(returnCode: errno, operation: "open \(path)") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw LMDBError(returnCode: errno, operation: "fstat \(path)") }
        let walk = PageWalk(descriptor: descriptor, fileSize: Int(status.st_size), maxProblems: max(1, maxProblems))
        walk.takesCensus = census
        walk.run(snapshot: snapshot)
        return (PageReport(pagesVisited: walk.pagesVisited, problems: walk.problems), walk.census)
    }
}

/// Thrown inside the walk when `maxProblems` is reached.
private struct Enough: Error {}

/// One tree to walk and what its pages must look like.
private struct Tree {
    enum Role {
        /// `mm_dbs[FREE_DBI]`: keys are transaction ids, values lists of free pages.
        case freePages
        /// `mm_dbs[MAIN_DBI]`: its `F_SUBDATA` leaves are the named databases.
        case main
        /// A named database.
        case named
        /// The sub-database of one key's sorted duplicates: keys only, no data.
        case duplicates
    }

    var label: String
    /// The database the tree belongs to: its own label, or for a sub-database of sorted duplicates,
    /// the named database that holds it.
    var database: String
    var role: Role
    var record: DatabaseRecord
    /// Where the record came from, for messages about its root.
    var source: String
    var keyOrder: KeyOrder
    /// `MDB_DUPSORT`: leaves may hold sub-pages and sub-databases of values.
    var sortedDuplicates: Bool
    var duplicateOrder: KeyOrder
    /// `MDB_DUPFIXED`: values of one size, kept in `P_LEAF2` pages.
    var fixedSizeDuplicates: Bool

    init(label: String, role: Role, record: DatabaseRecord, source: String) {
        self.label = label
        self.database = label
        self.role = role
        self.record = record
        self.source = source
        self.keyOrder = role == .freePages ? .integer : KeyOrder(keyFlags: record.flags)
        self.sortedDuplicates = role != .freePages && role != .duplicates && record.flags & Layout.dupSort != 0
        self.duplicateOrder = KeyOrder(duplicateFlags: record.flags)
        self.fixedSizeDuplicates = self.sortedDuplicates && record.flags & Layout.dupFixed != 0
    }

    /// The tree of one key's duplicates, ordered by this tree's value order.
    func duplicates(of key: UnsafeRawBufferPointer, record: DatabaseRecord, source: String) -> Tree {
        var tree = Tree(label: "\(self.label) (values of key \(hexPrefix(key)))", role: .duplicates, record: record, source: source)
        tree.database = self.database
        tree.keyOrder = self.duplicateOrder
        tree.fixedSizeDuplicates = self.fixedSizeDuplicates
        return tree
    }
}

/// What one tree's walk counted, to compare with its `MDB_db` record.
private struct Tally {
    var branchPages: UInt64 = 0
    var leafPages: UInt64 = 0
    var overflowPages: UInt64 = 0
    var entries: UInt64 = 0
    var leafLevel: Int?
}

/// A child of a branch page, with the key range its keys must fall in.
private struct Child {
    var page: UInt64
    var node: Int
    var lower: [UInt8]?
    var upper: [UInt8]?
}

private final class PageWalk {
    let descriptor: Int32
    let fileSize: Int
    let maxProblems: Int
    private(set) var problems: [String] = []
    private(set) var pagesVisited = 0
    /// Whether to note each page's tree and kind in ``census`` as the walk reaches it.
    var takesCensus = false
    private(set) var census = PageCensus()

    private var pageSize = 4096
    private var lastPage: UInt64 = 0
    /// Whole pages in the file.
    private var filePages: UInt64 = 0
    private var visited = PageSet(capacity: 0)
    private var freed = PageSet(capacity: 0)
    /// Pages at or past this are never in a tree (past the file or the last page).
    private var trackedPages = 0
    private var namedDatabases: [Tree] = []
    /// The one page buffer: a page is checked whole before the walk descends, so one is enough.
    private var page = UnsafeMutableRawBufferPointer(start: nil, count: 0)

    init(descriptor: Int32, fileSize: Int, maxProblems: Int) {
        self.descriptor = descriptor
        self.fileSize = fileSize
        self.maxProblems = maxProblems
    }

    deinit { self.page.deallocate() }

    func run(snapshot: UInt64?) {
        do {
            guard let meta = try self.chooseMeta(snapshot: snapshot) else { return }
            self.pageSize = meta.pageSize
            self.census.transactionID = meta.transactionID
            self.census.pageSize = meta.pageSize
            self.lastPage = meta.lastPage
            self.filePages = UInt64(self.fileSize / meta.pageSize)
            self.trackedPages = Int(min(meta.lastPage == .max ? .max : meta.lastPage + 1, self.filePages))
            self.visited = PageSet(capacity: self.trackedPages)
            self.freed = PageSet(capacity: self.trackedPages)
            self.page = .allocate(byteCount: meta.pageSize, alignment: 16)
            if meta.lastPage < Layout.metaPages - 1 {
                try self.report("meta page \(meta.index): last page \(meta.lastPage) is below the meta pages")
            }
            let source = "meta page \(meta.index)"
            if meta.freePages.flags & Layout.integerKey == 0 {
                try self.report("(free pages): flags 0x\(hex(meta.freePages.flags)) in \(source) lack MDB_INTEGERKEY")
            }
            try self.walkTree(Tree(label: "(free pages)", role: .freePages, record: meta.freePages, source: source))
            try self.walkTree(Tree(label: "(main)", role: .main, record: meta.main, source: source))
            for tree in self.namedDatabases { try self.walkTree(tree) }
            for page in self.visited.intersection(self.freed) {
                try self.report("(free pages): page \(page) is listed as free but a tree uses it")
            }
        } catch {
            // Only `Enough` is thrown: the list is full.
        }
    }

    private func report(_ problem: String) throws {
        self.problems.append(problem)
        if self.problems.count >= self.maxProblems { throw Enough() }
    }

    // MARK: Meta pages

    /// Reads both meta pages, reports what is wrong with each, and returns the one to walk.
    private func chooseMeta(snapshot: UInt64?) throws -> MetaPage? {
        // A writer may be rewriting the older meta page as it is read: read until two reads agree.
        var metas = self.readMetas()
        for _ in 0..<3 {
            let again = self.readMetas()
            if again.raw == metas.raw { break }
            metas = again
        }
        let (first, second) = (metas.pages[0], metas.pages[1])
        for problem in first.problems + second.problems { try self.report(problem) }
        if first.isUsable && second.isUsable && first.pageSize != second.pageSize {
            try self.report("meta pages disagree on the page size (\(first.pageSize) and \(second.pageSize))")
        }
        let usable = metas.pages.filter(\.isUsable)
        guard let newest = usable.max(by: { $0.transactionID < $1.transactionID || ($0.transactionID == $1.transactionID && $0.index > $1.index) }) else {
            try self.report("data.mdb: neither meta page is usable, so no tree can be found")
            return nil
        }
        guard let snapshot else { return newest }
        if let exact = usable.first(where: { $0.transactionID == snapshot }) { return exact }
        // Later commits rewrote the snapshot's meta page; pages of newer snapshots are just as stable
        // while the read transaction is held (LMDB reuses no page freed after the oldest reader).
        if let later = usable.filter({ $0.transactionID > snapshot }).min(by: { $0.transactionID < $1.transactionID }) {
            return later
        }
        let older = usable.filter { $0.transactionID < snapshot }.max(by: { $0.transactionID < $1.transactionID }) ?? newest
        try self.report(
            "no meta page holds the snapshot's transaction \(snapshot) (meta page 0: \(first.transactionID), meta page 1: \(second.transactionID)); checked meta page \(older.index)")
        return older
    }

    private func readMetas() -> (pages: [MetaPage], raw: [[UInt8]]) {
        let firstRaw = self.read(count: Layout.metaSize, at: 0)
        let first = firstRaw.withUnsafeBytes { MetaPage(index: 0, bytes: RawBytes(buffer: $0), offset: 0, fileSize: self.fileSize) }
        if first.isUsable {
            let raw = self.read(count: Layout.metaSize, at: first.pageSize)
            let second = raw.withUnsafeBytes { MetaPage(index: 1, bytes: RawBytes(buffer: $0), offset: first.pageSize, fileSize: self.fileSize) }
            return ([first, second], [firstRaw, raw])
        }
        // Meta page 1 sits one page in, and meta page 0 cannot say how long a page is: look where it
        // could be, and take it where its own page size matches its offset.
        let system = Int(sysconf(Int32(_SC_PAGESIZE)))
        for offset in [system] + [4096, 8192, 16384, 32768, 65536, 2048, 1024, 512].filter({ $0 != system }) {
            let raw = self.read(count: Layout.metaSize, at: offset)
            let candidate = raw.withUnsafeBytes { MetaPage(index: 1, bytes: RawBytes(buffer: $0), offset: offset, fileSize: self.fileSize) }
            if candidate.isUsable && candidate.pageSize == offset { return ([first, candidate], [firstRaw, raw]) }
        }
        var missing = MetaPage(index: 1, bytes: RawBytes(buffer: UnsafeRawBufferPointer(start: nil, count: 0)), offset: 0, fileSize: self.fileSize)
        missing.problems = ["meta page 1: not found one page in, for any page size from 512 to 65536"]
        return ([first, missing], [firstRaw, []])
    }

    /// Up to `count` bytes at `offset`, fewer at the end of the file.
    private func read(count: Int, at offset: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let got = bytes.withUnsafeMutableBytes { self.readFully(into: $0, at: offset).count }
        bytes.removeLast(count - got)
        return bytes
    }

    /// Reads into `buffer` from `offset`; returns how many bytes were read and the error that stopped it early, if any.
    private func readFully(into buffer: UnsafeMutableRawBufferPointer, at offset: Int) -> (count: Int, error: Int32?) {
        guard let base = buffer.baseAddress else { return (0, nil) }
        var done = 0
        while done < buffer.count {
            let n = pread(self.descriptor, base + done, buffer.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                return (done, errno)
            }
            if n == 0 { break }
            done += n
        }
        return (done, nil)
    }

    // MARK: Pages

    /// Checks that `count` pages from `page` may belong to a tree and were not reached before, and
    /// marks them as reached. `from` says where the page number came from, for the message.
    private func claim(_ page: UInt64, count: UInt64 = 1, tree: Tree, from: String) throws -> Bool {
        let what = count == 1 ? "page \(page)" : "pages \(page) to \(page &+ count &- 1)"
        if page < Layout.metaPages {
            try self.report("\(tree.label): \(from) points to page \(page), a meta page")
            return false
        }
        let (end, overflowed) = page.addingReportingOverflow(count)
        if overflowed || end - 1 > self.lastPage {
            try self.report("\(tree.label): \(from) points to \(what), past the last page in use (\(self.lastPage))")
            return false
        }
        if end > self.filePages {
            try self.report("\(tree.label): \(from) points to \(what), past the end of the file (\(self.filePages) pages)")
            return false
        }
        for p in page..<end where self.visited.contains(Int(p)) {
            try self.report("\(tree.label): \(from) points to page \(p), which was reached before (a cycle, or a page shared by two trees)")
            return false
        }
        for p in page..<end { _ = self.visited.insert(Int(p)) }
        self.pagesVisited += Int(count)
        return true
    }

    private func walkTree(_ tree: Tree) throws {
        if self.takesCensus { self.census.register(tree.database) }
        let record = tree.record
        if record.root == Layout.noPage {
            if record.depth != 0 || record.entries != 0 || record.branchPages != 0 || record.leafPages != 0 || record.overflowPages != 0 {
                try self.report("\(tree.label): the database record has no root page but a depth of \(record.depth) and \(record.entries) entries")
            }
            return
        }
        if record.depth < 1 || record.depth > Layout.maxDepth {
            try self.report("\(tree.label): the database record says depth \(record.depth), expected 1 to \(Layout.maxDepth)")
        }
        if record.flags & ~Layout.knownDatabaseFlags != 0 && tree.role != .freePages && tree.role != .duplicates {
            try self.report("\(tree.label): the database record has unknown flags 0x\(hex(record.flags))")
        }
        let before = self.problems.count
        var tally = Tally()
        try self.walkPage(record.root, level: 1, lower: nil, upper: nil, from: "the root in \(tree.source)", tree: tree, tally: &tally)
        // Counts only mean something when every page was read.
        guard self.problems.count == before else { return }
        if let level = tally.leafLevel, level != record.depth {
            try self.report("\(tree.label): the tree is \(level) levels deep, the database record says \(record.depth)")
        }
        if (tally.branchPages, tally.leafPages, tally.overflowPages) != (record.branchPages, record.leafPages, record.overflowPages) {
            try self.report(
                "\(tree.label): the database record counts \(record.branchPages) branch, \(record.leafPages) leaf and \(record.overflowPages) overflow pages; the tree has \(tally.branchPages), \(tally.leafPages) and \(tally.overflowPages)")
        }
        if tally.entries != record.entries {
            try self.report("\(tree.label): the database record counts \(record.entries) entries; the tree holds \(tally.entries)")
        }
    }

    /// Checks one branch or leaf page and then the pages below it.
    private func walkPage(
        _ pageNumber: UInt64, level: Int, lower: [UInt8]?, upper: [UInt8]?, from: String, tree: Tree, tally: inout Tally
    ) throws {
        guard try self.claim(pageNumber, tree: tree, from: from) else { return }
        let here = "\(tree.label): page \(pageNumber)"
        let (got, error) = self.readFully(into: self.page, at: Int(pageNumber) * self.pageSize)
        guard got == self.pageSize else {
            let why = error.map { String(cString: strerror($0)) } ?? "the file ends"
            try self.report("\(here): cannot be read (\(why))")
            return
        }
        let page = RawBytes(buffer: UnsafeRawBufferPointer(self.page))
        if page.u64(0) != pageNumber {
            try self.report("\(here): its header says page \(page.u64(0))")
            return
        }
        let flags = page.u16(10)
        let isBranch = flags == Layout.branch
        let isLeaf = flags == (tree.fixedSizeDuplicates && tree.role == .duplicates ? Layout.leaf | Layout.leaf2 : Layout.leaf)
        guard isBranch || isLeaf else {
            let expected = tree.fixedSizeDuplicates && tree.role == .duplicates ? "0x01 (branch) or 0x22 (leaf of fixed-size values)" : "0x01 (branch) or 0x02 (leaf)"
            try self.report("\(here): page flags 0x\(hex(flags)), expected \(expected)")
            return
        }
        if self.takesCensus { self.census.note(Int(pageNumber), count: 1, of: tree.database, as: isBranch ? .branch : .leaf) }
        if isBranch {
            tally.branchPages += 1
            guard level < Layout.maxDepth else {
                try self.report("\(here): a branch page at level \(level); liblmdb cannot descend past \(Layout.maxDepth) levels")
                return
            }
            guard let children = try self.checkBranch(page, here: here, lower: lower, upper: upper, tree: tree) else { return }
            for child in children {
                try self.walkPage(
                    child.page, level: level + 1, lower: child.lower, upper: child.upper, from: "page \(pageNumber): node \(child.node)",
                    tree: tree, tally: &tally)
            }
        } else {
            tally.leafPages += 1
            if let leafLevel = tally.leafLevel, leafLevel != level {
                try self.report("\(here): a leaf page at level \(level), other leaves are at level \(leafLevel)")
            } else {
                tally.leafLevel = level
            }
            let subTrees = try self.checkLeaf(page, pageNumber: pageNumber, here: here, lower: lower, upper: upper, tree: tree, tally: &tally)
            for subTree in subTrees { try self.walkTree(subTree) }
        }
    }

    /// Checks `mp_lower`, `mp_upper` and the node pointers of a page of `size` bytes (a page, or a
    /// sub-page inside a node); returns the nodes' offsets, or `nil` if the page cannot be read safely.
    private func nodeOffsets(_ page: RawBytes, here: String) throws -> [Int]? {
        let size = page.count
        let lower = page.u16(12)
        let upper = page.u16(14)
        guard lower >= Layout.pageHeaderSize, lower <= upper, upper <= size, (lower - Layout.pageHeaderSize) % 2 == 0 else {
            try self.report("\(here): free-space bounds lower \(lower), upper \(upper) are not 16 <= lower <= upper <= \(size) with lower even")
            return nil
        }
        let count = (lower - Layout.pageHeaderSize) / 2
        guard count > 0 else {
            try self.report("\(here): the page holds no nodes")
            return nil
        }
        var offsets: [Int] = []
        offsets.reserveCapacity(count)
        for i in 0..<count {
            let offset = page.u16(Layout.pageHeaderSize + 2 * i)
            guard offset >= upper, page.contains(offset, Layout.nodeHeaderSize) else {
                let place = offset < upper ? "into the free space (offset \(offset), nodes start at \(upper))" : "outside the page (offset \(offset) of \(size))"
                try self.report("\(here): node \(i) points \(place)")
                return nil
            }
            guard offset % 2 == 0 else {
                try self.report("\(here): node \(i) is at odd offset \(offset)")
                return nil
            }
            let keySize = page.u16(offset + 6)
            guard page.contains(offset + Layout.nodeHeaderSize, keySize) else {
                try self.report("\(here): the key of node \(i) (\(keySize) bytes at offset \(offset)) runs past the end of the page (\(size))")
                return nil
            }
            offsets.append(offset)
        }
        return offsets
    }

    /// Checks that `key` (of node `node`) sorts after `previous` and within `[lower, upper)`.
    private func checkOrder(
        _ key: UnsafeRawBufferPointer, node: Int, previous: UnsafeRawBufferPointer?, lower: [UInt8]?, upper: [UInt8]?,
        order: KeyOrder, here: String, keys: String = "key"
    ) throws -> Bool {
        if let previous {
            guard let c = order.compare(previous, key) else {
                try self.report("\(here): the \(keys) of node \(node) is \(key.count) bytes, the one before \(previous.count) (integer \(keys)s are all one size)")
                return false
            }
            if c >= 0 {
                try self.report("\(here): the \(keys) of node \(node) does not sort after the one before it")
                return false
            }
        }
        if let lower {
            let c = lower.withUnsafeBytes { order.compare($0, key) }
            if c == nil || c! > 0 {
                try self.report("\(here): the \(keys) of node \(node) sorts before the separator in the parent page")
                return false
            }
        }
        if let upper {
            let c = upper.withUnsafeBytes { order.compare(key, $0) }
            if c == nil || c! >= 0 {
                try self.report("\(here): the \(keys) of node \(node) does not sort before the next separator in the parent page")
                return false
            }
        }
        return true
    }

    /// Checks a branch page's nodes; returns its children with their key ranges.
    private func checkBranch(_ page: RawBytes, here: String, lower: [UInt8]?, upper: [UInt8]?, tree: Tree) throws -> [Child]? {
        guard let offsets = try self.nodeOffsets(page, here: here) else { return nil }
        var separators: [[UInt8]?] = [lower]
        var previous: UnsafeRawBufferPointer?
        var children: [Child] = []
        for (i, offset) in offsets.enumerated() {
            // mn_lo | mn_hi << 16 | mn_flags << 32: a branch node's data is its child's page number.
            let child = UInt64(page.u16(offset)) | UInt64(page.u16(offset + 2)) << 16 | UInt64(page.u16(offset + 4)) << 32
            children.append(Child(page: child, node: i))
            guard i > 0 else { continue }  // the first key of a branch page is ignored (it is the parent's separator)
            let key = page.slice(offset + Layout.nodeHeaderSize, page.u16(offset + 6))
            guard try self.checkOrder(key, node: i, previous: previous, lower: lower, upper: upper, order: tree.keyOrder, here: here) else {
                return nil
            }
            previous = key
            separators.append(Array(key))
        }
        separators.append(upper)
        for i in children.indices {
            children[i].lower = separators[i]
            children[i].upper = separators[i + 1]
        }
        return children
    }

    /// Checks a leaf page's nodes, their values, overflow pages and sub-pages; returns the trees its
    /// nodes hold (sorted duplicates), to walk once this page is done. Named databases are kept for later.
    private func checkLeaf(
        _ page: RawBytes, pageNumber: UInt64, here: String, lower: [UInt8]?, upper: [UInt8]?, tree: Tree, tally: inout Tally
    ) throws -> [Tree] {
        if page.u16(10) & Layout.leaf2 != 0 {
            let keySize = page.u16(8)
            guard let count = try self.fixedSizeKeyCount(page, here: here, keySize: keySize) else { return [] }
            if Int(tree.record.pad) != keySize {
                try self.report("\(here): values of \(keySize) bytes, the database record says \(tree.record.pad)")
                return []
            }
            var previous: UnsafeRawBufferPointer?
            for i in 0..<count {
                let key = page.slice(Layout.pageHeaderSize + i * keySize, keySize)
                guard try self.checkOrder(key, node: i, previous: previous, lower: lower, upper: upper, order: tree.keyOrder, here: here) else {
                    return []
                }
                previous = key
            }
            tally.entries += UInt64(count)
            return []
        }
        guard let offsets = try self.nodeOffsets(page, here: here) else { return [] }
        var subTrees: [Tree] = []
        var previous: UnsafeRawBufferPointer?
        for (i, offset) in offsets.enumerated() {
            // Made only for a message: a string per node would cost more than the checks.
            let node = { "\(here): node \(i)" }
            let dataSize = page.u16(offset) | page.u16(offset + 2) << 16
            let flags = page.u16(offset + 4)
            let keySize = page.u16(offset + 6)
            let key = page.slice(offset + Layout.nodeHeaderSize, keySize)
            let dataOffset = offset + Layout.nodeHeaderSize + keySize
            guard try self.checkOrder(key, node: i, previous: previous, lower: lower, upper: upper, order: tree.keyOrder, here: here) else {
                return subTrees
            }
            previous = key
            if flags & ~(Layout.bigData | Layout.subData | Layout.dupData) != 0 || (tree.role == .duplicates && flags != 0) {
                try self.report("\(node()) has node flags 0x\(hex(flags))")
                continue
            }
            switch flags {
            case 0:
                guard page.contains(dataOffset, dataSize) else {
                    try self.report("\(node()): its value (\(dataSize) bytes at offset \(dataOffset)) runs past the end of the page (\(page.count))")
                    continue
                }
                tally.entries += 1
                if tree.role == .freePages {
                    try self.checkFreeList(page.slice(dataOffset, dataSize), transaction: key, here: node())
                }
            case Layout.bigData:
                guard page.contains(dataOffset, 8) else {
                    try self.report("\(node()): its overflow page number (at offset \(dataOffset)) runs past the end of the page (\(page.count))")
                    continue
                }
                tally.entries += 1
                let first = page.u64(dataOffset)
                guard let pages = try self.checkOverflow(first, valueSize: dataSize, from: "page \(pageNumber): node \(i)", tree: tree) else { continue }
                tally.overflowPages += pages
                if tree.role == .freePages {
                    var value = [UInt8](repeating: 0, count: dataSize)
                    let got = value.withUnsafeMutableBytes { self.readFully(into: $0, at: Int(first) * self.pageSize + Layout.pageHeaderSize).count }
                    let transaction = Array(key)
                    guard got == dataSize else {
                        try self.report("\(tree.label): overflow page \(first): cannot read the \(dataSize) bytes of its value")
                        continue
                    }
                    try value.withUnsafeBytes { value in
                        try transaction.withUnsafeBytes { try self.checkFreeList(value, transaction: $0, here: node()) }
                    }
                }
            case Layout.subData:
                tally.entries += 1
                guard tree.role == .main else {
                    try self.report("\(node()) is marked as a named database (F_SUBDATA) outside the main database")
                    continue
                }
                guard dataSize == Layout.databaseRecordSize, page.contains(dataOffset, dataSize) else {
                    try self.report("\(node()): the record of a named database is \(dataSize) bytes at offset \(dataOffset), expected \(Layout.databaseRecordSize) inside the page")
                    continue
                }
                let name = String(decoding: key, as: UTF8.self)
                let record = DatabaseRecord(page, at: dataOffset)
                self.namedDatabases.append(
                    Tree(label: name, role: .named, record: record, source: "its record in (main) page \(pageNumber): node \(i)"))
            case Layout.dupData, Layout.dupData | Layout.subData:
                guard tree.sortedDuplicates else {
                    try self.report("\(node()) holds sorted duplicates (F_DUPDATA) but the database is not MDB_DUPSORT")
                    continue
                }
                guard page.contains(dataOffset, dataSize) else {
                    try self.report("\(node()): its values (\(dataSize) bytes at offset \(dataOffset)) run past the end of the page (\(page.count))")
                    continue
                }
                if flags & Layout.subData != 0 {
                    guard dataSize == Layout.databaseRecordSize else {
                        try self.report("\(node()): the record of its values' sub-database is \(dataSize) bytes, expected \(Layout.databaseRecordSize)")
                        continue
                    }
                    let record = DatabaseRecord(page, at: dataOffset)
                    tally.entries += record.entries
                    subTrees.append(tree.duplicates(of: key, record: record, source: "its record in page \(pageNumber): node \(i)"))
                } else {
                    let subPage = RawBytes(buffer: page.slice(dataOffset, dataSize))
                    tally.entries += try self.checkSubPage(subPage, here: "\(node()): sub-page", tree: tree)
                }
            default:
                try self.report("\(node()) has node flags 0x\(hex(flags)), which do not go together")
            }
        }
        return subTrees
    }

    /// The number of values on a `P_LEAF2` page (or sub-page) with values of `keySize` bytes, if they fit.
    private func fixedSizeKeyCount(_ page: RawBytes, here: String, keySize: Int) throws -> Int? {
        let lower = page.u16(12)
        let upper = page.u16(14)
        guard lower >= Layout.pageHeaderSize, lower <= upper, upper <= page.count, (lower - Layout.pageHeaderSize) % 2 == 0 else {
            try self.report("\(here): free-space bounds lower \(lower), upper \(upper) are not 16 <= lower <= upper <= \(page.count) with lower even")
            return nil
        }
        let count = (lower - Layout.pageHeaderSize) / 2
        guard keySize > 0, count > 0, page.contains(Layout.pageHeaderSize, count * keySize) else {
            try self.report("\(here): \(count) values of \(keySize) bytes do not fit in \(page.count) bytes")
            return nil
        }
        return count
    }

    /// Checks a sub-page of sorted duplicates held inside a leaf node; returns how many values it holds.
    private func checkSubPage(_ page: RawBytes, here: String, tree: Tree) throws -> UInt64 {
        guard page.count >= Layout.pageHeaderSize else {
            try self.report("\(here): \(page.count) bytes, too short for a page header")
            return 0
        }
        let flags = page.u16(10) & ~Layout.dirty
        let expected = Layout.leaf | Layout.subPage | (tree.fixedSizeDuplicates ? Layout.leaf2 : 0)
        guard flags == expected else {
            try self.report("\(here): page flags 0x\(hex(page.u16(10))), expected 0x\(hex(expected | Layout.dirty))")
            return 0
        }
        if tree.fixedSizeDuplicates {
            let keySize = page.u16(8)
            guard let count = try self.fixedSizeKeyCount(page, here: here, keySize: keySize) else { return 0 }
            var previous: UnsafeRawBufferPointer?
            for i in 0..<count {
                let value = page.slice(Layout.pageHeaderSize + i * keySize, keySize)
                guard try self.checkOrder(value, node: i, previous: previous, lower: nil, upper: nil, order: tree.duplicateOrder, here: here, keys: "value")
                else { return 0 }
                previous = value
            }
            return UInt64(count)
        }
        guard let offsets = try self.nodeOffsets(page, here: here) else { return 0 }
        var previous: UnsafeRawBufferPointer?
        for (i, offset) in offsets.enumerated() {
            let dataSize = page.u16(offset) | page.u16(offset + 2) << 16
            let keySize = page.u16(offset + 6)
            guard page.u16(offset + 4) == 0 else {
                try self.report("\(here): node \(i) has node flags 0x\(hex(page.u16(offset + 4)))")
                return 0
            }
            guard page.contains(offset + Layout.nodeHeaderSize + keySize, dataSize) else {
                try self.report("\(here): node \(i) runs past the end of the sub-page (\(page.count) bytes)")
                return 0
            }
            let value = page.slice(offset + Layout.nodeHeaderSize, keySize)
            guard try self.checkOrder(value, node: i, previous: previous, lower: nil, upper: nil, order: tree.duplicateOrder, here: here, keys: "value")
            else { return 0 }
            previous = value
        }
        return UInt64(offsets.count)
    }

    /// Checks the run of overflow pages at `first` that holds a value of `valueSize` bytes; returns its
    /// length in pages, or `nil` if it is not sound.
    private func checkOverflow(_ first: UInt64, valueSize: Int, from: String, tree: Tree) throws -> UInt64? {
        guard try self.claim(first, tree: tree, from: from) else { return nil }
        let here = "\(tree.label): overflow page \(first)"
        var header = [UInt8](repeating: 0, count: Layout.pageHeaderSize)
        let (got, error) = header.withUnsafeMutableBytes { self.readFully(into: $0, at: Int(first) * self.pageSize) }
        guard got == Layout.pageHeaderSize else {
            try self.report("\(here): cannot be read (\(error.map { String(cString: strerror($0)) } ?? "the file ends"))")
            return nil
        }
        return try header.withUnsafeBytes { raw -> UInt64? in
            let bytes = RawBytes(buffer: raw)
            guard bytes.u64(0) == first else {
                try self.report("\(here): its header says page \(bytes.u64(0))")
                return nil
            }
            guard bytes.u16(10) == Layout.overflow else {
                try self.report("\(here): page flags 0x\(hex(bytes.u16(10))), expected 0x04 (overflow)")
                return nil
            }
            // OVPAGES: the header and the value, rounded up to whole pages.
            let needed = UInt64((Layout.pageHeaderSize - 1 + valueSize) / self.pageSize + 1)
            let pages = UInt64(bytes.u32(12))
            guard pages >= needed else {
                try self.report("\(here): a run of \(pages) page\(pages == 1 ? "" : "s"), but its value of \(valueSize) bytes needs \(needed)")
                return nil
            }
            if pages > 1 {
                guard try self.claim(first + 1, count: pages - 1, tree: tree, from: "overflow page \(first) (\(pages) pages)") else { return nil }
            }
            if self.takesCensus { self.census.note(Int(first), count: Int(pages), of: tree.database, as: .overflow) }
            return pages
        }
    }

    /// Checks one record of the free-page database: an IDL, its length then that many page numbers.
    private func checkFreeList(_ value: UnsafeRawBufferPointer, transaction key: UnsafeRawBufferPointer, here: String) throws {
        let bytes = RawBytes(buffer: value)
        let transaction = key.count == 8 ? RawBytes(buffer: key).u64(0) : 0
        guard key.count == 8 else {
            try self.report("\(here): a free-page record's key is \(key.count) bytes, expected an 8-byte transaction id")
            return
        }
        guard value.count >= 8 else {
            try self.report("\(here): the free-page record of transaction \(transaction) is \(value.count) bytes, too short for its length")
            return
        }
        // A record may be longer than its list: LMDB reserves room and fills it later.
        let count = bytes.u64(0)
        guard count <= UInt64(value.count / 8 - 1) else {
            try self.report("\(here): the free-page record of transaction \(transaction) lists \(count) pages but has room for \(value.count / 8 - 1)")
            return
        }
        for j in 0..<Int(count) {
            let page = bytes.u64(8 + 8 * j)
            if page < Layout.metaPages || page > self.lastPage {
                try self.report("\(here): the free-page record of transaction \(transaction) lists page \(page), outside 2...\(self.lastPage)")
            } else if page < UInt64(self.trackedPages), !self.freed.insert(Int(page)) {
                try self.report("\(here): the free-page record of transaction \(transaction) lists page \(page), which is already listed as free")
            }
        }
    }
}

// MARK: - The guard before mdb_env_open

extension Environment {
    /// Why liblmdb must not be asked to open the data file in `directory`, or nil when it may.
    ///
    /// `mdb_env_open` reads meta page 0, takes the page size from it, reads meta page 1 that far in,
    /// and keeps the one with the higher transaction id, trusting its page size: a damaged one stops
    /// the process (a page size of 0 divides by zero). This mirrors that choice from the raw bytes and
    /// refuses a page size liblmdb cannot have written, or a root past the end of the file.
    static func reasonNotToOpen(directory: String) -> String? {
        let path = directory + "/data.mdb"
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }  // a new store, or liblmdb reports the error itself
        defer { Glibc.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return nil }
        let fileSize = Int(info.st_size)
        if fileSize == 0 { return nil }  // a new file: liblmdb writes both meta pages
        func meta(at offset: Int, index: Int) -> MetaPage? {
            var raw = [UInt8](repeating: 0, count: Layout.metaSize)
            let got = raw.withUnsafeMutableBytes { pread(fd, $0.baseAddress, Layout.metaSize, off_t(offset)) }
            guard got == Layout.metaSize else { return nil }
            return raw.withUnsafeBytes { MetaPage(index: index, bytes: RawBytes(buffer: $0), offset: offset, fileSize: fileSize) }
        }
        // liblmdb refuses (MDB_INVALID, MDB_VERSION_MISMATCH) what lacks P_META, the magic or the version.
        func acceptedByLMDB(_ m: MetaPage) -> Bool { m.flags & Layout.meta != 0 && m.magic == Layout.magic && m.version == Layout.dataVersion }
        guard let first = meta(at: 0, index: 0), acceptedByLMDB(first) else { return nil }
        var chosen = first
        if first.isUsable, let second = meta(at: first.pageSize, index: 1), acceptedByLMDB(second), second.transactionID > first.transactionID {
            chosen = second
        }
        guard chosen.isUsable else {
            return "\(path): meta page \(chosen.index) has a damaged page size (\(chosen.pageSize)); LMDB would crash on it. "
                + "Environment.verifyPages(ofDirectory:) lists the damage"
        }
        let pages = UInt64(fileSize / chosen.pageSize)
        for (name, root) in [("free-page", chosen.freePages.root), ("main", chosen.main.root)] where root != Layout.noPage && root >= pages {
            return "\(path): meta page \(chosen.index) puts the \(name) tree's root at page \(root), past the end of the file (\(pages) pages)"
        }
        return nil
    }
}

extension ReadTransaction {
    /// ``Environment/verifyPages(maxProblems:)`` for this transaction's snapshot: a caller that goes
    /// on to read through liblmdb in the same transaction reads exactly the pages verified.
    public func verifyPages(maxProblems: Int = 100) throws -> PageReport {
        try PageVerification.run(directory: self.environment.path, snapshot: UInt64(self.id), maxProblems: maxProblems)
    }
}
