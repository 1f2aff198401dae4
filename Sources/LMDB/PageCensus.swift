import CLMDB

/// Which B-tree uses each page of one snapshot, and as what kind of page. LMDB never writes a page of
/// a committed snapshot again, it writes a copy, so the census of the snapshot a commit made, taken
/// against the census of the snapshot before it, names every page that commit wrote, tree by tree
/// (``written(since:)``): what a durable commit waits for, counted exactly rather than estimated.
///
/// Taken by the page walk of ``Environment/verifyPages(maxProblems:)`` (`pread`, one per page, never
/// through liblmdb), so it costs time linear in the size of the file: a diagnosis, not a metric to
/// gather on every commit.
public struct PageCensus: Sendable {
    public enum Kind: UInt16, Sendable, CaseIterable {
        case branch, leaf, overflow
    }

    /// The transaction that made the snapshot.
    public internal(set) var transactionID: UInt64 = 0
    public internal(set) var pageSize = 0
    /// The databases met, in the order of the walk: `(free pages)`, `(main)`, then the named
    /// databases. The sub-databases of a key's sorted duplicates count under their named database.
    public private(set) var databases: [String] = []
    private var databaseIndex: [String: Int] = [:]
    /// Per page number: 0 if no tree uses it (the meta pages, free pages), else
    /// `(database index + 1) << 2 | kind`.
    private var owners: [UInt16] = []

    init() {}

    /// Adds `database` to ``databases`` (an empty tree has no page to note), and returns its index.
    @discardableResult
    mutating func register(_ database: String) -> Int {
        if let known = self.databaseIndex[database] { return known }
        self.databases.append(database)
        self.databaseIndex[database] = self.databases.count - 1
        return self.databases.count - 1
    }

    /// Notes `count` pages from `first` as pages of `database`.
    mutating func note(_ first: Int, count: Int, of database: String, as kind: Kind) {
        let index = self.register(database)
        let end = first + count
        if self.owners.count < end { self.owners += [UInt16](repeating: 0, count: max(end - self.owners.count, self.owners.count / 2)) }
        let owner = UInt16(index + 1) << 2 | kind.rawValue
        for page in first..<end { self.owners[page] = owner }
    }

    /// The pages of each database in this snapshot.
    public var pages: [String: PageCounts] {
        self.count { _ in true }
    }

    /// The pages of this snapshot that `earlier`'s did not use, by database: every page the commits
    /// between the two snapshots wrote and left in a tree. Exact when this snapshot is the next one
    /// (`earlier`'s transaction id plus one): a commit never reuses a page the snapshot before it
    /// uses. Over several commits it may miss pages that were freed and written again in between.
    /// Not counted: the meta page each commit writes, and pages a commit wrote and freed again.
    public func written(since earlier: PageCensus) -> [String: PageCounts] {
        self.count { page in page >= earlier.owners.count || earlier.owners[page] == 0 }
    }

    private func count(where include: (Int) -> Bool) -> [String: PageCounts] {
        var counts = [PageCounts](repeating: PageCounts(), count: self.databases.count)
        for (page, owner) in self.owners.enumerated() where owner != 0 && include(page) {
            let database = Int(owner >> 2) - 1
            switch Kind(rawValue: owner & 3) {
            case .branch: counts[database].branch += 1
            case .leaf: counts[database].leaf += 1
            case .overflow: counts[database].overflow += 1
            case nil: break
            }
        }
        var result: [String: PageCounts] = [:]
        for (index, name) in self.databases.enumerated() { result[name] = counts[index] }
        return result
    }
}

/// Pages of one database, by kind.
public struct PageCounts: Sendable, Equatable, Codable {
    public var branch = 0
    public var leaf = 0
    public var overflow = 0

    public init(branch: Int = 0, leaf: Int = 0, overflow: Int = 0) {
        self.branch = branch
        self.leaf = leaf
        self.overflow = overflow
    }

    public var total: Int { self.branch + self.leaf + self.overflow }

    public static func + (a: PageCounts, b: PageCounts) -> PageCounts {
        PageCounts(branch: a.branch + b.branch, leaf: a.leaf + b.leaf, overflow: a.overflow + b.overflow)
    }
}

extension Environment {
    /// The census of this environment's current snapshot, taken under a read transaction (so writers
    /// may go on meanwhile).
    /// - Throws: ``LMDBError`` if the data file cannot be read, or with `MDB_CORRUPTED` naming the
    ///   first problem if the walk finds the file damaged (``verifyPages(maxProblems:)`` lists them).
    public func pageCensus() throws -> PageCensus {
        try self.read { txn in
            try PageCensus.take(directory: self.path, snapshot: UInt64(txn.id))
        }
    }

    /// The census of the newest snapshot in `directory`'s `data.mdb`, without opening an environment
    /// and without a lock: take it while no process writes the store (as between two commits of one's
    /// own), or the pages may change under the walk.
    public static func pageCensus(ofDirectory directory: String) throws -> PageCensus {
        try PageCensus.take(directory: directory, snapshot: nil)
    }
}

extension PageCensus {
    static func take(directory: String, snapshot: UInt64?) throws -> PageCensus {
        let (report, census) = try PageVerification.walk(directory: directory, snapshot: snapshot, maxProblems: 1, census: true)
        if let problem = report.problems.first {
            throw LMDBError(returnCode: MDB_CORRUPTED, operation: "page census of \(directory): \(problem)")
        }
        return census
    }
}
