import Foundation

/// One storage engine under test. The runner calls the write side from one task only; `checkSend`
/// and the scans may run on the reader thread at the same time.
///
/// An engine opens for the import phase (commits not synced, as a bulk load would run) and becomes
/// durable with ``beginLivePhase()``.
protocol Engine: AnyObject, Sendable {
    /// Records a batch of events in one commit.
    func apply(_ batch: ArraySlice<WorkloadEvent>) async throws
    /// Makes every later commit durable (synced before it returns), or, with `durable` false (only for
    /// `--unsafe-no-sync-live`, a diagnosis), leaves them unsynced. No reads run during the call.
    func beginLivePhase(durable: Bool) throws
    /// A send check of a free-form reply in `conversation` at `at`: whether it is allowed.
    func checkSend(conversation: UInt32, at: Int64) throws -> Bool
    /// Conversations whose reply fell due in `(after, until]`, at most `limit` of them.
    func newlyOverdue(after: Int64, until: Int64, limit: Int) throws -> Int
    /// Conversations whose window closes in `[from, to)`.
    func windowsClosing(from: Int64, to: Int64) throws -> Int
    /// Overdue conversations at `asOf`, counted by a walk of the due index.
    func countOverdue(asOf: Int64) throws -> Int
    /// Charges and violations over every business (nil where the engine keeps none: raw_lmdb).
    func billingTotals() throws -> BillingTotals?
    /// Ends writing; the files are complete after it.
    func close() throws
}

/// The engines, by the names used on the command line and in reports.
enum EngineName: String, CaseIterable, Codable, Sendable {
    case convostore
    case sqlite
    case rawLMDB = "raw_lmdb"

    func open(directory: String, workload: Workload) throws -> any Engine {
        switch self {
        case .convostore: try ConvoStoreEngine(directory: directory, workload: workload)
        case .sqlite: try SQLiteEngine(directory: directory, workload: workload)
        case .rawLMDB: try RawLMDBEngine(directory: directory, workload: workload)
        }
    }
}

/// Billing over all businesses: the proof that ConvoStore and SQLite applied the same rules.
struct BillingTotals: Codable, Equatable, Sendable {
    /// Charged messages by category: marketing, utility, authentication.
    var charged = [0, 0, 0]
    var free = 0
    /// Violations by rule: blocked, outside_window, no_opt_in, opted_out, restricted.
    var violations = [0, 0, 0, 0, 0]
    var amountMicros: Int64 = 0

    var summary: String {
        "charged m/u/a \(self.charged.map(String.init).joined(separator: "/")), free \(self.free), "
            + "violations \(self.violations.map(String.init).joined(separator: "/")), amount \(self.amountMicros) micros"
    }
}

/// Thrown when an engine refuses an event the workload considers valid.
struct EngineFailure: Error, CustomStringConvertible {
    let description: String
}
