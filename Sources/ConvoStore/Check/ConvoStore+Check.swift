import LMDB

/// What ``ConvoStore/check(maxProblems:)`` found.
public struct CheckReport: Sendable, Hashable {
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
    /// Verifies every index entry against its record and back, and every conversation's derived
    /// state and every charge against its stored history. Stops listing after `maxProblems`.
    public func check(maxProblems: Int = 100) throws -> CheckReport {
        try self.read { store in
            var checker = Checker(reader: store.reader, maxProblems: maxProblems)
            try checker.run()
            return checker.report
        }
    }
}
