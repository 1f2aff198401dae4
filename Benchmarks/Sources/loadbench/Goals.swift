/// The goals of the benchmark issue (issue 15, "Goals, in one run, at 1M users" and "The whole
/// picture at 10M users"), checked on every run against the medians of its trials. A missed goal is
/// reported, never hidden and never a failure of the harness: the store gets fixed, not the harness.
enum Goals {
    /// Live events/s, ConvoStore over SQLite, same run.
    static let eventsOverSQLite = 3.0
    /// Live events/s, ConvoStore over raw LMDB doing the same puts, same run.
    static let eventsOverRawLMDB = 0.9
    /// Overdue-scan entries/s, ConvoStore over raw LMDB's cursor walk, same run.
    static let overdueScanOverRawLMDB = 0.8
    /// Newly-overdue scan returning 1,000 entries (p50), ConvoStore over raw LMDB, at most.
    static let probeOverRawLMDB = 2.0
    /// Send checks during the live phase, p99, at most (microseconds).
    static let sendCheckP99Us = 10.0
    /// Bytes written per live event, at most.
    static let bytesPerEvent = 12_000.0
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
        let at = "at \(Format.count(first.users)) users"
        func ratio(_ goal: String, _ other: EngineName, atLeast minimum: Double? = nil, atMost maximum: Double? = nil, _ value: (EngineResult) -> Double) {
            guard let c = result(first, .convostore), let o = result(first, other) else {
                goals.append(GoalResult(goal: goal, measured: "not measured (engine not run)", status: .notApplicable))
                return
            }
            let ratio = value(c) / value(o)
            let met = (minimum.map { ratio >= $0 } ?? true) && (maximum.map { ratio <= $0 } ?? true)
            goals.append(GoalResult(goal: goal, measured: "\(Format.ratio(ratio)) \(at)", status: met ? .met : .missed))
        }
        func absolute(_ goal: String, atMost maximum: Double, _ value: (EngineResult) -> Double, _ format: (Double) -> String) {
            guard let c = result(first, .convostore) else {
                goals.append(GoalResult(goal: goal, measured: "not measured (engine not run)", status: .notApplicable))
                return
            }
            goals.append(GoalResult(goal: goal, measured: "\(format(value(c))) \(at)", status: value(c) <= maximum ? .met : .missed))
        }
        ratio("live events/s convostore >= \(Goals.eventsOverSQLite)x sqlite", .sqlite, atLeast: Self.eventsOverSQLite, \.eventsPerS)
        ratio("live events/s convostore >= \(Goals.eventsOverRawLMDB)x raw_lmdb", .rawLMDB, atLeast: Self.eventsOverRawLMDB, \.eventsPerS)
        ratio("overdue scan entries/s convostore >= \(Goals.overdueScanOverRawLMDB)x raw_lmdb", .rawLMDB, atLeast: Self.overdueScanOverRawLMDB, \.overdueScanEntriesPerS)
        ratio("newly-overdue scan of 1,000 entries (p50) convostore <= \(Goals.probeOverRawLMDB)x raw_lmdb", .rawLMDB, atMost: Self.probeOverRawLMDB) { $0.newlyOverdueProbe.p50Us }
        absolute("send check during load p99 <= \(Format.fixed(Self.sendCheckP99Us, 0)) us", atMost: Self.sendCheckP99Us, { $0.sendCheckDuringLoad.p99Us }) { Format.micros($0) }
        absolute("live bytes written per event <= \(Format.count(Int(Self.bytesPerEvent)))", atMost: Self.bytesPerEvent, \.liveWriteBytesPerEvent) { Format.count(Int($0)) }

        let last = runs[runs.count - 1]
        let scaleGoals = [
            "newly-overdue scan time (1k entries, p50) at the largest user count <= \(Goals.newlyOverdueScanGrowth)x the smallest",
            "live events/s at the largest user count >= \(Goals.eventsAtScale)x the smallest",
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
