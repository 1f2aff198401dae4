/// The goals of the benchmark issue, checked on every run. A missed goal is reported, never hidden
/// and never a failure of the harness: the store gets fixed, not the harness.
enum Goals {
    /// events/s, ConvoStore over SQLite, same run.
    static let eventsOverSQLite = 5.0
    /// events/s, ConvoStore over raw LMDB, same run.
    static let eventsOverRawLMDB = 0.5
    /// Overdue-scan entries/s, ConvoStore over raw LMDB's cursor walk, same run.
    static let overdueScanOverRawLMDB = 0.5
    /// Newly-overdue scan time (1,000 entries, p50) at the largest user count over the smallest, at most.
    static let newlyOverdueScanGrowth = 1.5
    /// events/s at the largest user count over the smallest, at least.
    static let eventsAtScale = 0.7

    static func evaluate(_ runs: [Report.Run], liveDurable: Bool) -> [GoalResult] {
        guard liveDurable else {
            return [GoalResult(goal: "every goal", measured: "not checked: live commits were not synced (--unsafe-no-sync-live)", status: .notApplicable)]
        }
        let first = runs[0]
        func result(_ run: Report.Run, _ engine: EngineName) -> EngineResult? { run.engines[engine.rawValue] }
        var goals: [GoalResult] = []
        func ratio(_ goal: String, _ other: EngineName, _ minimum: Double, _ value: (EngineResult) -> Double) {
            guard let c = result(first, .convostore), let o = result(first, other) else {
                goals.append(GoalResult(goal: goal, measured: "not measured (engine not run)", status: .notApplicable))
                return
            }
            let ratio = value(c) / value(o)
            goals.append(GoalResult(goal: goal, measured: "\(Format.ratio(ratio)) at \(Format.count(first.users)) users", status: ratio >= minimum ? .met : .missed))
        }
        ratio("events/s convostore >= \(Goals.eventsOverSQLite)x sqlite", .sqlite, Self.eventsOverSQLite, \.eventsPerS)
        ratio("events/s convostore >= \(Goals.eventsOverRawLMDB)x raw_lmdb", .rawLMDB, Self.eventsOverRawLMDB, \.eventsPerS)
        ratio("overdue scan entries/s convostore >= \(Goals.overdueScanOverRawLMDB)x raw_lmdb", .rawLMDB, Self.overdueScanOverRawLMDB, \.overdueScanEntriesPerS)

        let last = runs[runs.count - 1]
        let scaleGoals = [
            "newly-overdue scan time (1k entries, p50) at the largest user count <= \(Goals.newlyOverdueScanGrowth)x the smallest",
            "events/s at the largest user count >= \(Goals.eventsAtScale)x the smallest",
        ]
        guard runs.count > 1, let small = result(first, .convostore), let large = result(last, .convostore) else {
            for goal in scaleGoals { goals.append(GoalResult(goal: goal, measured: "needs two user counts (make bench-scale)", status: .notApplicable)) }
            return goals
        }
        let span = "\(Format.count(last.users)) vs \(Format.count(first.users)) users"
        let growth = large.newlyOverdueProbe.p50Us / small.newlyOverdueProbe.p50Us
        goals.append(GoalResult(goal: scaleGoals[0], measured: "\(Format.ratio(growth)) (\(span))", status: growth <= Self.newlyOverdueScanGrowth ? .met : .missed))
        let kept = large.eventsPerS / small.eventsPerS
        goals.append(GoalResult(goal: scaleGoals[1], measured: "\(Format.ratio(kept)) (\(span))", status: kept >= Self.eventsAtScale ? .met : .missed))
        return goals
    }
}

/// One goal and how the run did against it.
struct GoalResult: Codable {
    enum Status: String, Codable {
        case met
        case missed = "MISSED"
        case notApplicable = "n/a"
    }

    var goal: String
    var measured: String
    var status: Status
}
