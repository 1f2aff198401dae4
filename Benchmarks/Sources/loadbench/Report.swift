import Foundation

/// Everything one run of `loadbench` measured, as written to `report.json`.
struct Report: Codable {
    /// The first (smallest) user count, whose figures are in `engines` and `ratios`.
    var users: Int
    var seed: UInt64
    /// Whether the engines imported at the same time (their import figures then share the machine).
    var concurrentImport: Bool
    /// Whether live commits were synced; false only for `--unsafe-no-sync-live`, and then no goal is checked.
    var liveDurable: Bool
    var startedAt: String
    var cores: Int
    var engines: [String: EngineResult]
    var ratios: Ratios
    var goals: [GoalResult]
    var agreement: [Agreement]
    /// Every user count measured, smallest first.
    var runs: [Run]

    struct Run: Codable {
        var users: Int
        var engines: [String: EngineResult]
    }

    init(seed: UInt64, concurrentImport: Bool, liveDurable: Bool, startedAt: String, runs: [Run]) {
        let first = runs[0]
        self.users = first.users
        self.seed = seed
        self.concurrentImport = concurrentImport
        self.liveDurable = liveDurable
        self.startedAt = startedAt
        self.cores = ProcessInfo.processInfo.activeProcessorCount
        self.engines = first.engines
        self.ratios = Ratios(first.engines)
        self.goals = Goals.evaluate(runs, liveDurable: liveDurable)
        self.agreement = runs.compactMap { Agreement($0) }
        self.runs = runs
    }

    var agreed: Bool { self.agreement.allSatisfy(\.agreed) }
}

/// ConvoStore's figures over SQLite's and raw LMDB's, measured in the same run.
struct Ratios: Codable {
    var convostoreOverSqlite: Ratio?
    var convostoreOverRawLmdb: Ratio?

    struct Ratio: Codable {
        var eventsPerS: Double
        var overdueScanEntriesPerS: Double
        var pointReadsPerS: Double
        var sizeBytes: Double
    }

    init(_ engines: [String: EngineResult]) {
        func ratio(_ other: EngineName) -> Ratio? {
            guard let c = engines[EngineName.convostore.rawValue], let o = engines[other.rawValue] else { return nil }
            return Ratio(
                eventsPerS: c.eventsPerS / o.eventsPerS, overdueScanEntriesPerS: c.overdueScanEntriesPerS / o.overdueScanEntriesPerS,
                pointReadsPerS: c.pointReadsPerS / o.pointReadsPerS, sizeBytes: Double(c.sizeBytes) / Double(o.sizeBytes))
        }
        self.convostoreOverSqlite = ratio(.sqlite)
        self.convostoreOverRawLmdb = ratio(.rawLMDB)
    }
}

/// ConvoStore and SQLite did the same work: same overdue count and billing totals.
struct Agreement: Codable {
    var users: Int
    var agreed: Bool
    var convostore: String
    var sqlite: String

    init?(_ run: Report.Run) {
        guard let c = run.engines[EngineName.convostore.rawValue], let s = run.engines[EngineName.sqlite.rawValue] else { return nil }
        self.users = run.users
        self.agreed = c.overdueCount == s.overdueCount && c.billing == s.billing
        self.convostore = "overdue \(c.overdueCount); \(c.billing?.summary ?? "no billing")"
        self.sqlite = "overdue \(s.overdueCount); \(s.billing?.summary ?? "no billing")"
    }
}

/// Writes the report: a table on stdout, and report.json, report.md and events-per-s.svg.
enum ReportWriter {
    static func write(_ report: Report, to directory: String) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: URL(fileURLWithPath: directory + "/report.json"))
        try Self.markdown(report).write(toFile: directory + "/report.md", atomically: true, encoding: .utf8)
        try Chart.svg(report.runs, liveDurable: report.liveDurable).write(toFile: directory + "/events-per-s.svg", atomically: true, encoding: .utf8)
    }

    /// The table of one user count: a row per figure, a column per engine, then the ratios.
    static func table(_ run: Report.Run, of report: Report) -> [[String]] {
        let engines = EngineName.allCases.filter { run.engines[$0.rawValue] != nil }
        let results = engines.map { run.engines[$0.rawValue]! }
        let convostore = run.engines[EngineName.convostore.rawValue]
        let ratioColumns: [(String, EngineResult)] = [("cs/sqlite", EngineName.sqlite), ("cs/raw", EngineName.rawLMDB)].compactMap { name, engine in
            guard convostore != nil, let result = run.engines[engine.rawValue] else { return nil }
            return (name, result)
        }
        var rows = [["figure"] + engines.map(\.rawValue) + ratioColumns.map(\.0)]
        func row(_ name: String, _ text: (EngineResult) -> String, ratio value: ((EngineResult) -> Double)? = nil) {
            let ratios = ratioColumns.map { _, other in value.map { Format.ratio($0(convostore!) / $0(other)) } ?? "" }
            rows.append([name] + results.map(text) + ratios)
        }
        func latency(_ name: String, _ pick: (EngineResult) -> LatencySummary) {
            row(name + " p50/p99/p999", { Format.latency(pick($0)) })
        }
        if report.concurrentImport {
            row("import events/s (all engines at once)", { Format.count(Int($0.importEventsPerS)) })
        } else {
            row("import events/s (no sync, \(Format.count(Runner.importBatchSize))/commit)", { Format.count(Int($0.importEventsPerS)) }, ratio: \.importEventsPerS)
        }
        row("import events, s", { "\(Format.count($0.importEvents)), \(Format.fixed($0.importSeconds, 1))" })
        latency("import commit", \.importCommit)
        let commits = report.liveDurable ? "durable" : "UNSYNCED"
        row("live events/s (\(commits), \(Format.count(Runner.batchSize))/commit)", { Format.count(Int($0.eventsPerS)) }, ratio: \.eventsPerS)
        row("live events, write s (wall s)", { "\(Format.count($0.liveEvents)), \(Format.fixed($0.writeSeconds, 1)) (\(Format.fixed($0.liveSeconds, 1)))" })
        latency("live commit", \.commit)
        row("live bytes written/event", { Format.count(Int($0.liveWriteBytesPerEvent)) }, ratio: \.liveWriteBytesPerEvent)
        latency("send check during load", \.sendCheckDuringLoad)
        row("send checks/s during load", { Format.count(Int($0.sendChecksPerSDuringLoad)) }, ratio: \.sendChecksPerSDuringLoad)
        latency("newly-overdue scan/minute", \.newlyOverdueScan)
        latency("closing-windows scan/minute", \.closingWindowsScan)
        latency("newly-overdue scan 1k entries", \.newlyOverdueProbe)
        row("overdue count at end", { Format.count($0.overdueCount) })
        row("overdue scan entries/s", { Format.count(Int($0.overdueScanEntriesPerS)) }, ratio: \.overdueScanEntriesPerS)
        row("point reads/s (send checks)", { Format.count(Int($0.pointReadsPerS)) }, ratio: \.pointReadsPerS)
        latency("point read", \.pointRead)
        row("size on disk", { Format.bytes($0.sizeBytes) }, ratio: { Double($0.sizeBytes) })
        row("bytes/conversation", { Format.fixed($0.bytesPerConversation, 0) })
        row("bytes/message", { Format.fixed($0.bytesPerMessage, 0) })
        row("peak RSS (workload alone)", { "\(Format.bytes($0.peakRssBytes)) (\(Format.bytes($0.workloadRssBytes)))" })
        return rows
    }

    static func text(_ report: Report) -> String {
        var out = ""
        for run in report.runs {
            let any = run.engines.values.first!
            out += "\n\(Format.count(run.users)) users: \(Format.count(any.events)) events, \(Format.count(any.conversations)) conversations, "
                + "\(Format.count(any.messages)) messages (seed \(report.seed), \(report.cores) cores)\n"
            out += Self.aligned(Self.table(run, of: report))
        }
        out += "\ngoals:\n"
        for goal in report.goals { out += "  [\(goal.status.rawValue)] \(goal.goal): \(goal.measured)\n" }
        out += "agreement (convostore vs sqlite):\n"
        for a in report.agreement {
            out += "  \(Format.count(a.users)) users: \(a.agreed ? "AGREE" : "DISAGREE")\n    convostore: \(a.convostore)\n    sqlite:     \(a.sqlite)\n"
        }
        return out
    }

    private static func aligned(_ rows: [[String]]) -> String {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max()! }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == 0 ? cell.padding(toLength: widths[0], withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: widths[column] - cell.count) + cell
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    private static func markdown(_ report: Report) -> String {
        var out = "# ConvoStore load benchmark\n\nStarted \(report.startedAt), seed \(report.seed), \(report.cores) cores. "
            + "Figures are defined in Benchmarks/README.md.\n"
        for run in report.runs {
            let rows = Self.table(run, of: report)
            out += "\n## \(Format.count(run.users)) users\n\n"
            out += "| " + rows[0].joined(separator: " | ") + " |\n"
            out += "|" + rows[0].enumerated().map { $0.offset == 0 ? "---" : "---:" }.joined(separator: "|") + "|\n"
            for row in rows.dropFirst() { out += "| " + row.joined(separator: " | ") + " |\n" }
        }
        out += "\n## Goals\n\n"
        for goal in report.goals { out += "- **\(goal.status.rawValue)**: \(goal.goal): \(goal.measured)\n" }
        out += "\n## Agreement (ConvoStore vs SQLite)\n\n"
        for a in report.agreement {
            out += "- \(Format.count(a.users)) users: **\(a.agreed ? "agree" : "DISAGREE")**\n  - convostore: \(a.convostore)\n  - sqlite: \(a.sqlite)\n"
        }
        out += "\n![events/s against users](events-per-s.svg)\n"
        return out
    }
}

/// Number formatting for the table and progress lines.
enum Format {
    static func count(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var out = ""
        for (i, digit) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return value < 0 ? "-" + out : out
    }

    static func fixed(_ value: Double, _ decimals: Int) -> String {
        guard value.isFinite else { return "-" }
        return String(format: "%.\(decimals)f", value)
    }

    static func ratio(_ value: Double) -> String { Self.fixed(value, 2) + "x" }

    /// p50/p99/p999 in microseconds, or in milliseconds when the median is a millisecond or more.
    static func latency(_ l: LatencySummary) -> String {
        let (scale, unit) = l.p50Us >= 1000 ? (1000.0, "ms") : (1.0, "us")
        return [l.p50Us, l.p99Us, l.p999Us].map { Self.fixed($0 / scale, 1) }.joined(separator: "/") + " " + unit
    }

    static func bytes(_ value: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var scaled = Double(value)
        var unit = 0
        while scaled >= 1024 && unit < units.count - 1 {
            scaled /= 1024
            unit += 1
        }
        return Self.fixed(scaled, unit == 0 ? 0 : 1) + " " + units[unit]
    }
}
