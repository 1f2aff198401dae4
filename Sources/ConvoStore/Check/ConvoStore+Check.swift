import LMDB

/// What ``ConvoStore/check(maxProblems:)`` found.
public struct CheckReport: Sendable, Hashable {
    init(problems: [String] = []) { self.problems = problems }

    /// Conversations checked.
    public var conversations = 0
    /// Messages checked.
    public var messages = 0
    /// Index entries checked (due, expiry, message ids, billing, controls).
    public var indexEntries = 0
    /// Each problem, in words; empty when the store is sound.
    public var problems: [String] = []
    /// Whether no problem was found.
    public var isHealthy: Bool { self.problems.isEmpty }
}

extension ConvoStore {
    /// Verifies the store's pages (LMDB's B-trees, read from the file: damage there is reported, never
    /// followed), then every index entry against its record and back, and every conversation's
    /// derived state and every charge against its stored history. Stops listing after `maxProblems`.
    public func check(maxProblems: Int = 100) throws -> CheckReport {
        try self.read { store in
            let pages = try store.txn.verifyPages(maxProblems: maxProblems)
            guard pages.isSound else {
                // Walking damaged trees through liblmdb could crash; the page problems are the report.
                return CheckReport(problems: pages.problems.map { "damaged page: \($0)" })
            }
            var checker = Checker(reader: store.reader, maxProblems: maxProblems)
            try checker.run()
            return checker.report
        }
    }
}

extension ConvoStore {
    /// The damage in the pages of the store at `path`, read from its files without opening it (so a
    /// damaged file cannot crash the process inside liblmdb); empty when they are sound. Run it before
    /// ``open(at:settings:options:)`` on a store that may be damaged. It takes no lock, so a process
    /// writing the store meanwhile can make pages look damaged for a moment: damage is reported only
    /// if three walks agree.
    public static func damagedPages(at path: String, maxProblems: Int = 100) throws -> [String] {
        var problems: [String] = []
        for _ in 0..<3 {
            let report = try Environment.verifyPages(ofDirectory: path, maxProblems: maxProblems)
            if report.isSound { return [] }
            problems = report.problems
        }
        return problems
    }
}
