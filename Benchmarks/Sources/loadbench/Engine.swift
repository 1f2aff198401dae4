import Foundation

/// One storage engine under test. The runner calls the write side from one task only; `checkSend`
/// and the scans may run on the reader thread at the same time.
///
/// An engine opens either to bulk-load a new store (commits not synced, as a bulk load would run),
/// or on a store an earlier bulk load left, for the live phase (durable commits). The import and the
/// live phase run in different processes, so that every trial's live phase can start from a copy of
/// the same imported store.
protocol Engine: AnyObject, Sendable {
    /// Records a batch of events in one commit.
    func apply(_ batch: ArraySlice<WorkloadEvent>) async throws
    /// A send check of a free-form reply in `conversation` at `at`: whether it is allowed.
    func checkSend(conversation: UInt32, at: Int64) throws -> Bool
    /// Conversations whose reply fell due in `(after, until]`, at most `limit` of them.
    func newlyOverdue(after: Int64, until: Int64, limit: Int) throws -> Int
    /// The same walk as ``newlyOverdue(after:until:limit:)`` made into values with their ids as
    /// Strings, where the engine's own figure does not make them (ConvoStore's in-place walk); nil
    /// where there is no such second figure.
    func newlyOverdueValues(after: Int64, until: Int64, limit: Int) throws -> Int?
    /// Conversations whose window closes in `[from, to)`.
    func windowsClosing(from: Int64, to: Int64) throws -> Int
    /// Overdue conversations at `asOf`, counted by a walk of the due index.
    func countOverdue(asOf: Int64) throws -> Int
    /// Charges, violations and amounts over every business, and R8's reached counts of the busiest
    /// businesses at the end (nil where the engine keeps no domain state: raw_lmdb, rocksdb).
    func billingTotals() throws -> BillingTotals?
    /// Ends a bulk load: whatever a later process needs to go on from this state is on disk, and
    /// the engine is closed.
    func finishImport() throws
    /// Ends writing; the files are complete after it.
    func close() throws
}

extension Engine {
    func newlyOverdueValues(after: Int64, until: Int64, limit: Int) throws -> Int? { nil }
}

/// Engines that take one event per request from many tasks and commit them in groups (the
/// server-shaped mode): ConvoStore's `submit`, and SQLite with a group-commit writer of the same shape.
protocol GroupCommitEngine: Engine {
    /// Records one event; returns after the commit that holds it.
    func submit(_ event: WorkloadEvent) async throws
    /// Requests per commit of the commits since the last call (and forgets them).
    func takeBatchSizes() -> [Int]
}

/// How an engine opens its directory.
enum OpenMode: Sendable {
    /// A new store, written without syncing (the import phase).
    case bulkLoad
    /// The store a bulk load left, every commit synced before it returns; `durable` false only for
    /// `--unsafe-no-sync-live`, a diagnosis.
    case live(durable: Bool)
}

/// The engines, by the names used on the command line and in reports.
enum EngineName: String, CaseIterable, Codable, Sendable, Comparable {
    case convostore
    case sqlite
    case rawLMDB = "raw_lmdb"
    case rocksDB = "rocksdb"
    /// ConvoStore without a rate card loaded (`--pricing-cost`): what pricing with a card costs.
    case convostoreNoCard = "convostore_no_card"

    /// The engines `make bench` runs by default.
    static let standard: [EngineName] = [.convostore, .sqlite, .rawLMDB, .rocksDB]

    /// The engine whose store a variant's trials copy (the variant has no import of its own).
    var importedAs: EngineName { self == .convostoreNoCard ? .convostore : self }

    /// Whether the engine's store is an LMDB environment (`--compact-copies` compacts those).
    var usesLMDB: Bool { self == .convostore || self == .convostoreNoCard || self == .rawLMDB }

    func open(directory: String, workload: Workload, mode: OpenMode) throws -> any Engine {
        switch self {
        case .convostore: try ConvoStoreEngine(directory: directory, workload: workload, mode: mode, rateCard: true)
        case .convostoreNoCard: try ConvoStoreEngine(directory: directory, workload: workload, mode: mode, rateCard: false)
        case .sqlite: try SQLiteEngine(directory: directory, workload: workload, mode: mode)
        case .rawLMDB: try RawLMDBEngine(directory: directory, workload: workload, mode: mode)
        case .rocksDB: try RocksDBEngine(directory: directory, workload: workload, mode: mode)
        }
    }

    static func < (a: Self, b: Self) -> Bool {
        Self.allCases.firstIndex(of: a)! < Self.allCases.firstIndex(of: b)!
    }
}

/// Billing over all businesses, and R8's reached counts: the proof that ConvoStore and SQLite applied
/// the same rules and prices.
struct BillingTotals: Codable, Equatable, Sendable {
    /// Charged messages by category: marketing, utility, authentication, service.
    var charged = [0, 0, 0, 0]
    var free = 0
    /// Violations by rule: blocked, outside_window, no_opt_in, opted_out, restricted, limit_reached.
    var violations = [0, 0, 0, 0, 0, 0]
    /// Outbound messages that failed (R6): neither charged nor violations.
    var failed = 0
    var amountMicros: Int64 = 0
    /// Amount by market, for every market with a charged message.
    var marketAmounts: [String: Int64] = [:]
    /// R8: customers reached in the 24 hours up to the end of the workload by each of the
    /// ``reachSample`` busiest businesses.
    var reached: [Int] = []

    /// The businesses whose reached count is compared: the Zipf distribution's busiest.
    static let reachSample = 0..<UInt32(20)

    var summary: String {
        let markets = self.marketAmounts.keys.sorted().map { "\($0) \(self.marketAmounts[$0]!)" }.joined(separator: ", ")
        return "charged m/u/a/s \(self.charged.map(String.init).joined(separator: "/")), free \(self.free), "
            + "violations \(self.violations.map(String.init).joined(separator: "/")), failed \(self.failed), amount \(self.amountMicros) micros "
            + "(\(markets)); reached_24h of the top \(Self.reachSample.count) businesses: \(self.reached.reduce(0, +))"
    }
}

/// Thrown when an engine refuses an event the workload considers valid, or fails.
struct EngineFailure: Error, CustomStringConvertible {
    let description: String
}
