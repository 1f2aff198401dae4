import Foundation

/// Everything one run of `loadbench` measured, as written to `report.json`. The top-level `engines`,
/// `range`, `trials` and `ratios` are those of the first (smallest) user count; `runs` has every count.
struct Report: Codable {
    var users: Int
    var seed: UInt64
    /// Simulated hours replayed live (`--live-hours`); nil when the live phase was a number of events.
    var liveHours: Int?
    /// The last events replayed live (`--live-events`), whatever time they spanned; else nil.
    var liveEvents: Int?

    /// The period the run replayed live, as given to ``init(seed:livePeriod:importEventsPerCommit:concurrentImport:liveDurable:compactedCopies:startedAt:wallSeconds:runs:)``:
    /// exactly one of `liveHours` and `liveEvents` is set.
    var livePeriod: LivePeriod { self.liveEvents.map(LivePeriod.events) ?? .hours(self.liveHours ?? Runner.defaultLiveHours) }
    /// Trials per engine at the first user count (`trials` holds their figures).
    var trialCount: Int
    /// Events per import commit (`--import-batch`).
    var importEventsPerCommit: Int
    /// Whether the engines imported at the same time (their import figures then share the machine).
    var concurrentImport: Bool
    /// Whether live commits were synced; false only for `--unsafe-no-sync-live`, and then no goal is checked.
    var liveDurable: Bool
    /// `--compact-copies`: the LMDB engines' live phases ran on compacting copies of their imports
    /// (no free pages) rather than on copies with the free-page list the import left.
    var compactedCopies: Bool
    var startedAt: String
    /// Wall-clock seconds of the whole run after the build.
    var wallSeconds: Double
    var cores: Int
    /// Each engine's figures: the median over the trials of each figure (`live_seconds` and
    /// `write_seconds`: the shortest trial's).
    var engines: [String: EngineResult]
    /// Each engine's minimum and maximum over the trials, figure by figure.
    var range: [String: Report.FigureRange]
    /// Each trial's figures, in the order the engines ran.
    var trials: [Report.Trial]
    /// ConvoStore's medians over each other engine's, with the min-max of the same ratio per trial.
    var ratios: [String: Ratio]
    var goals: [GoalResult]
    var agreement: [Agreement]
    /// Every user count measured, smallest first.
    var runs: [Run]

    struct Trial: Codable {
        var trial: Int
        /// Engines in the order their live phases ran (``TrialOrder``: changed from one trial to the next).
        var order: [String]
        var engines: [String: EngineResult]
    }

    struct FigureRange: Codable {
        var min: EngineResult
        var max: EngineResult
    }

    /// The percentile distributions of the live phase's commit and send-check latencies over every
    /// trial of one engine: `[percentile, microseconds]` points (HdrHistogram, 5 ticks per half distance).
    struct LatencyDistributions: Codable {
        var commit: [[Double]]
        var sendCheckDuringLoad: [[Double]]
    }

    /// One user count.
    struct Run: Codable {
        var users: Int
        var engines: [String: EngineResult]
        var range: [String: FigureRange]
        var trials: [Trial]
        var ratios: [String: Ratio]
        var latencyDistributions: [String: LatencyDistributions]
        /// `--server-mode`: per engine.
        var serverMode: [String: ServerModeResult]?
        /// `--backup-during-live`: ConvoStore's live phase with backups running.
        var backupDuringLive: EngineResult?

        init(users: Int, trials: [Trial], serverMode: [String: ServerModeResult]?, backupDuringLive: EngineResult?) throws {
            self.users = users
            let names = Set(trials.flatMap(\.engines.keys))
            var engines: [String: EngineResult] = [:]
            var range: [String: FigureRange] = [:]
            var distributions: [String: LatencyDistributions] = [:]
            for name in names {
                let results = trials.compactMap { $0.engines[name] }
                engines[name] = try TrialStatistics.combine(results, .median)
                range[name] = FigureRange(min: try TrialStatistics.combine(results, .minimum), max: try TrialStatistics.combine(results, .maximum))
                distributions[name] = LatencyDistributions(
                    commit: Latencies(recorded: results.compactMap(\.commitRecorded)).percentileDistribution,
                    sendCheckDuringLoad: Latencies(recorded: results.compactMap(\.sendCheckRecorded)).percentileDistribution)
            }
            self.engines = engines
            self.range = range
            // The histograms are in the distributions; report.json keeps each trial's figures without them.
            self.trials = trials.map { trial in
                var stripped = trial
                for (name, result) in trial.engines {
                    var r = result
                    r.commitRecorded = nil
                    r.sendCheckRecorded = nil
                    stripped.engines[name] = r
                }
                return stripped
            }
            self.ratios = Ratio.all(medians: engines, trials: trials)
            self.latencyDistributions = distributions
            self.serverMode = serverMode
            var backup = backupDuringLive
            backup?.commitRecorded = nil
            backup?.sendCheckRecorded = nil
            self.backupDuringLive = backup
        }
    }

    init(
        seed: UInt64, livePeriod: LivePeriod, importEventsPerCommit: Int, concurrentImport: Bool, liveDurable: Bool, compactedCopies: Bool, startedAt: String,
        wallSeconds: Double, runs: [Run]
    ) {
        let first = runs[0]
        self.users = first.users
        self.seed = seed
        switch livePeriod {
        case .hours(let hours): self.liveHours = hours
        case .events(let count): self.liveEvents = count
        }
        self.trialCount = first.trials.count
        self.importEventsPerCommit = importEventsPerCommit
        self.concurrentImport = concurrentImport
        self.liveDurable = liveDurable
        self.compactedCopies = compactedCopies
        self.startedAt = startedAt
        self.wallSeconds = wallSeconds
        self.cores = ProcessInfo.processInfo.activeProcessorCount
        self.engines = first.engines
        self.range = first.range
        self.trials = first.trials
        self.ratios = first.ratios
        self.goals = Goals.evaluate(runs, liveDurable: liveDurable)
        self.agreement = runs.compactMap { Agreement($0) }
        self.runs = runs
    }

    var agreed: Bool { self.agreement.allSatisfy(\.agreed) }
}

/// ConvoStore's figure over another engine's: on the medians, and the min-max of the same ratio
/// taken trial by trial (both engines ran in every trial).
struct Ratio: Codable {
    var eventsPerS: Double
    var liveWriteBytesPerEvent: Double
    var overdueScanEntriesPerS: Double
    var pointReadsPerS: Double
    var newlyOverdueProbeP50: Double
    var sendCheckDuringLoadP99: Double
    var sizeBytes: Double
    /// Figure name (as above) -> `[min, max]` of the per-trial ratios.
    var trialRange: [String: [Double]]

    /// The figures ratios are taken of, by name.
    static let figures: [(name: String, value: @Sendable (EngineResult) -> Double)] = [
        ("events_per_s", \.eventsPerS),
        ("live_write_bytes_per_event", \.liveWriteBytesPerEvent),
        ("overdue_scan_entries_per_s", \.overdueScanEntriesPerS),
        ("point_reads_per_s", \.pointReadsPerS),
        ("newly_overdue_probe_p50", { $0.newlyOverdueProbe.p50Us }),
        ("send_check_during_load_p99", { $0.sendCheckDuringLoad.p99Us }),
        ("size_bytes", { Double($0.sizeBytes) }),
    ]

    /// `convostore_over_<engine>` for every engine measured besides ConvoStore.
    static func all(medians: [String: EngineResult], trials: [Report.Trial]) -> [String: Ratio] {
        guard let convostore = medians[EngineName.convostore.rawValue] else { return [:] }
        var out: [String: Ratio] = [:]
        for (name, other) in medians where name != EngineName.convostore.rawValue {
            let values = Self.figures.map { $0.value(convostore) / $0.value(other) }
            var range: [String: [Double]] = [:]
            for figure in Self.figures {
                let perTrial = trials.compactMap { trial -> Double? in
                    guard let c = trial.engines[EngineName.convostore.rawValue], let o = trial.engines[name] else { return nil }
                    return figure.value(c) / figure.value(o)
                }
                if let low = perTrial.min(), let high = perTrial.max() { range[figure.name] = [low, high] }
            }
            out["convostore_over_" + name] = Ratio(
                eventsPerS: values[0], liveWriteBytesPerEvent: values[1], overdueScanEntriesPerS: values[2], pointReadsPerS: values[3],
                newlyOverdueProbeP50: values[4], sendCheckDuringLoadP99: values[5], sizeBytes: values[6], trialRange: range)
        }
        return out
    }

    func value(_ figure: String) -> Double {
        switch figure {
        case "events_per_s": self.eventsPerS
        case "live_write_bytes_per_event": self.liveWriteBytesPerEvent
        case "overdue_scan_entries_per_s": self.overdueScanEntriesPerS
        case "point_reads_per_s": self.pointReadsPerS
        case "newly_overdue_probe_p50": self.newlyOverdueProbeP50
        case "send_check_during_load_p99": self.sendCheckDuringLoadP99
        default: self.sizeBytes
        }
    }
}

/// Every engine gave the answers it must, in every trial. The library is the reference:
/// - `sqlite` applies the rules itself: the same overdue count, billing counts by class, amounts (in
///   total and by market) and reached counts as `convostore`;
/// - `convostore_no_card` prices with the store's defaults alone: the same overdue count, counts and
///   reached counts as `convostore`, and an amount of each charged message at its category's default;
/// - `raw_lmdb` and `rocksdb` keep no billing (no domain logic), but their due index follows R2 with
///   R5's blocks and R6's failures: the same overdue count as `convostore`.
struct Agreement: Codable {
    var users: Int
    var agreed: Bool
    var trialsCompared: Int
    /// What disagreed, trial by trial (empty when everything agreed).
    var problems: [String]
    /// Each engine's answers in the first trial that disagreed (else the first trial).
    var answers: [String: String]

    init?(_ run: Report.Run) {
        let reference = EngineName.convostore.rawValue
        let compared = run.trials.filter { $0.engines[reference] != nil && $0.engines.count > 1 }
        guard !compared.isEmpty else { return nil }
        var problems: [String] = []
        var shown: Report.Trial?
        for trial in compared {
            let found = Self.problems(trial)
            if !found.isEmpty, shown == nil { shown = trial }
            problems += found.map { "trial \(trial.trial): \($0)" }
        }
        let trial = shown ?? compared[0]
        self.users = run.users
        self.trialsCompared = compared.count
        self.problems = problems
        self.agreed = problems.isEmpty
        self.answers = trial.engines.mapValues(Self.answers)
    }

    /// The answers of one engine, as the report prints them.
    static func answers(_ result: EngineResult) -> String {
        "overdue \(result.overdueCount); " + (result.billing?.summary ?? "no billing (no domain logic)")
    }

    /// What disagrees with ConvoStore in one trial.
    private static func problems(_ trial: Report.Trial) -> [String] {
        guard let c = trial.engines[EngineName.convostore.rawValue] else { return [] }
        var problems: [String] = []
        for (name, other) in trial.engines.sorted(by: { $0.key < $1.key }) where name != EngineName.convostore.rawValue {
            if other.overdueCount != c.overdueCount {
                problems.append("\(name) overdue \(other.overdueCount), convostore \(c.overdueCount)")
            }
            switch other.engine {
            case .sqlite:
                if other.billing != c.billing { problems.append("sqlite's billing or reached counts differ from convostore's") }
            case .convostoreNoCard:
                guard var billing = other.billing, let expected = c.billing else {
                    problems.append("\(name): no billing")
                    continue
                }
                let atDefaults = zip(expected.charged, HarnessRateCard.defaults).reduce(Int64(0)) { $0 + Int64($1.0) * $1.1 }
                if billing.amountMicros != atDefaults || billing.marketAmounts.values.reduce(0, +) != atDefaults {
                    problems.append("\(name) amount \(billing.amountMicros) micros, the defaults give \(atDefaults)")
                }
                billing.amountMicros = expected.amountMicros
                billing.marketAmounts = expected.marketAmounts
                if billing != expected { problems.append("\(name)'s billing counts or reached counts differ from convostore's") }
            case .rawLMDB, .rocksDB, .convostore:
                break
            }
        }
        return problems
    }
}

/// Writes the report: a table on stdout, and report.json, report.md and the SVG charts.
enum ReportWriter {
    static func write(_ report: Report, to directory: String) throws {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(report).write(to: URL(fileURLWithPath: directory + "/report.json"))
        for (file, svg) in Charts.all(report) {
            try svg.write(toFile: directory + "/" + file, atomically: true, encoding: .utf8)
        }
        try Self.markdown(report).write(toFile: directory + "/report.md", atomically: true, encoding: .utf8)
    }

    /// Engine names in the order of ``EngineName`` (unknown names last).
    static func ordered(_ names: some Sequence<String>) -> [String] {
        names.sorted { (EngineName(rawValue: $0).flatMap { EngineName.allCases.firstIndex(of: $0) } ?? .max, $0)
            < (EngineName(rawValue: $1).flatMap { EngineName.allCases.firstIndex(of: $0) } ?? .max, $1) }
    }

    /// The engines of a run in the order of ``EngineName``.
    static func engines(_ run: Report.Run) -> [EngineName] {
        EngineName.allCases.filter { run.engines[$0.rawValue] != nil }
    }

    /// The table of one user count: a row per figure, a column per engine (median, and min-max when
    /// there were several trials), then ConvoStore's ratios over the others (on medians).
    static func table(_ run: Report.Run, of report: Report) -> [[String]] {
        let engines = Self.engines(run)
        let several = run.trials.count > 1
        let others = engines.filter { $0 != .convostore && $0 != .convostoreNoCard && run.engines[EngineName.convostore.rawValue] != nil }
        var rows = [["figure"] + engines.map(\.rawValue) + others.map { "cs/" + ($0 == .rawLMDB ? "raw" : $0.rawValue) }]
        func row(_ name: String, _ text: (EngineResult) -> String, ratio figure: String? = nil) {
            let cells = engines.map { text(run.engines[$0.rawValue]!) }
            let ratios = others.map { other in figure.flatMap { run.ratios["convostore_over_" + other.rawValue]?.value($0) }.map(Format.ratio) ?? "" }
            rows.append([name] + cells + ratios)
        }
        /// A figure with its min-max over the trials.
        func ranged(_ name: String, _ value: @escaping (EngineResult) -> Double, _ format: @escaping (Double) -> String, ratio figure: String? = nil) {
            row(name, { result in
                let text = format(value(result))
                guard several, let r = run.range[result.engine.rawValue] else { return text }
                return "\(text) (\(format(value(r.min)))-\(format(value(r.max))))"
            }, ratio: figure)
        }
        func latency(_ name: String, _ pick: @escaping (EngineResult) -> LatencySummary, ratio figure: String? = nil, ranged: Bool = true) {
            row(name + " p50/p99/p999", { result in
                let text = Format.latency(pick(result))
                guard several, ranged, let r = run.range[result.engine.rawValue] else { return text }
                return "\(text) (p99 \(Format.micros(pick(r.min).p99Us))-\(Format.micros(pick(r.max).p99Us)))"
            }, ratio: figure)
        }
        let count = { (value: Double) in Format.count(Int(value)) }
        if report.concurrentImport {
            row("import events/s (all engines at once)", { Format.count(Int($0.importEventsPerS)) })
        } else {
            row("import events/s (no sync, \(Format.count(report.importEventsPerCommit))/commit)", { Format.count(Int($0.importEventsPerS)) })
        }
        row("import events, s", { "\(Format.count($0.importEvents)), \(Format.fixed($0.importSeconds, 1))" })
        latency("import commit", \.importCommit, ranged: false)  // one import per engine
        let commits = report.liveDurable ? "durable" : "UNSYNCED"
        ranged("live events/s (\(commits), \(Format.count(Runner.batchSize))/commit)", \.eventsPerS, count, ratio: "events_per_s")
        row("live events, write s (wall s), shortest trial", { "\(Format.count($0.liveEvents)), \(Format.fixed($0.writeSeconds, 1)) (\(Format.fixed($0.liveSeconds, 1)))" })
        latency("live commit", \.commit)
        ranged("live bytes written/event", \.liveWriteBytesPerEvent, count, ratio: "live_write_bytes_per_event")
        latency("send check during load", \.sendCheckDuringLoad, ratio: "send_check_during_load_p99")
        ranged("send checks/s during load", \.sendChecksPerSDuringLoad, count)
        latency("newly-overdue scan/minute", \.newlyOverdueScan)
        latency("closing-windows scan/minute", \.closingWindowsScan)
        latency("newly-overdue scan 1k entries", \.newlyOverdueProbe, ratio: "newly_overdue_probe_p50")
        if engines.contains(where: { run.engines[$0.rawValue]?.newlyOverdueProbeValues != nil }) {
            // ConvoStore's probe walks in place, as raw_lmdb's and rocksdb's count: this is its array of values.
            row("same, as values with String ids p50/p99/p999", { $0.newlyOverdueProbeValues.map(Format.latency) ?? "" })
        }
        row("overdue count at end", { Format.count($0.overdueCount) })
        ranged("overdue scan entries/s", \.overdueScanEntriesPerS, count, ratio: "overdue_scan_entries_per_s")
        ranged("point reads/s (send checks)", \.pointReadsPerS, count, ratio: "point_reads_per_s")
        latency("point read", \.pointRead)
        row("size on disk", { Format.bytes($0.sizeBytes) }, ratio: "size_bytes")
        row("bytes/conversation", { Format.fixed($0.bytesPerConversation, 0) })
        row("bytes/message", { Format.fixed($0.bytesPerMessage, 0) })
        row("peak RSS (workload alone)", { "\(Format.bytes($0.peakRssBytes)) (\(Format.bytes($0.workloadRssBytes)))" })
        return rows
    }

    static func text(_ report: Report) -> String {
        var out = ""
        for run in report.runs {
            out += "\n" + Self.heading(run, of: report) + "\n"
            out += Self.aligned(Self.table(run, of: report))
            for line in Self.extras(run) { out += line + "\n" }
        }
        out += "\ngoals:\n"
        for goal in report.goals { out += "  [\(goal.status.rawValue)] \(goal.goal): \(goal.measured)\n" }
        out += "agreement (every engine against convostore, every trial):\n"
        for a in report.agreement {
            out += "  \(Format.count(a.users)) users: \(a.agreed ? "AGREE" : "DISAGREE") (\(a.trialsCompared) trial\(a.trialsCompared == 1 ? "" : "s"))\n"
            for problem in a.problems { out += "    DISAGREE: \(problem)\n" }
            let width = a.answers.keys.map(\.count).max() ?? 0
            for name in Self.ordered(a.answers.keys) {
                out += "    \(name + ":" + String(repeating: " ", count: width - name.count)) \(a.answers[name]!)\n"
            }
        }
        return out
    }

    /// `the last 9 simulated hours, 392,517 events`, or (`--live-events 400000`) `the last 400,004
    /// events (--live-events 400,000), 0.92 simulated hours`.
    private static func livePhrase(_ report: Report, _ result: EngineResult) -> String {
        switch report.livePeriod {
        case .hours(let hours): "the last \(hours) simulated hours, \(Format.count(result.liveEvents)) events"
        case .events(let target):
            "the last \(Format.count(result.liveEvents)) events (--live-events \(Format.count(target)))"
                + (result.liveSimulatedHours.map { ", \(Format.fixed($0, 2)) simulated hours" } ?? "")
        }
    }

    private static func heading(_ run: Report.Run, of report: Report) -> String {
        let any = run.engines.values.first!
        let orders = run.trials.map { $0.order.joined(separator: ", ") }.joined(separator: "; ")
        return "\(Format.count(run.users)) users: \(Format.count(any.events)) events, \(Format.count(any.conversations)) conversations, "
            + "\(Format.count(any.messages)) messages (seed \(report.seed), \(report.cores) cores); live phase: \(Self.livePhrase(report, any)); \(run.trials.count) trial\(run.trials.count == 1 ? "" : "s")"
            + (run.trials.count > 1 ? ", median (min-max), engine order per trial: \(orders)" : "")
            + (report.compactedCopies ? "; the LMDB engines' stores compacted before each live phase (`--compact-copies`)" : "")
    }

    /// Lines after a run's table: the pricing cost, the backups, the server mode.
    private static func extras(_ run: Report.Run) -> [String] {
        var lines: [String] = []
        // Figures to quote come from live phases of at least 20 s of commits per engine and trial.
        let short = Self.engines(run).filter { run.engines[$0.rawValue]!.writeSeconds < Runner.minimumWriteSeconds }
        if !short.isEmpty {
            lines.append("")
            lines.append("Live phase shorter than \(Format.fixed(Runner.minimumWriteSeconds, 0)) s of commits in some trial (a smoke run, not figures to quote; "
                + "raise --live-hours or --live-events): " + short.map { "\($0.rawValue) \(Format.fixed(run.engines[$0.rawValue]!.writeSeconds, 1)) s" }.joined(separator: ", "))
        }
        let reused = Self.engines(run).compactMap { engine in
            run.engines[engine.rawValue].flatMap { result in result.importReusedFrom.map { (engine, $0, result.importMadeAt ?? "?") } }
        }
        if !reused.isEmpty {
            lines.append("")
            lines.append("Imports kept by an earlier run (--imports) and reused; their import figures are that run's:")
            for (engine, store, madeAt) in reused { lines.append("- \(engine.rawValue): \(store), import finished \(madeAt)") }
        }
        if let with = run.engines[EngineName.convostore.rawValue], let without = run.engines[EngineName.convostoreNoCard.rawValue] {
            lines.append("")
            lines.append("Pricing with a rate card (\(HarnessRateCard.rows.count) rows, 4 versions, tiers) against the store's defaults alone, ConvoStore, same trials (medians):")
            lines.append("- live events/s: \(Format.count(Int(with.eventsPerS))) with the card, \(Format.count(Int(without.eventsPerS))) without (\(Format.ratio(with.eventsPerS / without.eventsPerS)))")
            lines.append("- live bytes written/event: \(Format.count(Int(with.liveWriteBytesPerEvent))) with, \(Format.count(Int(without.liveWriteBytesPerEvent))) without")
            lines.append("- live commit p50: \(Format.micros(with.commit.p50Us)) with, \(Format.micros(without.commit.p50Us)) without")
        }
        if let backup = run.backupDuringLive, let figures = backup.backup {
            let plain = run.engines[EngineName.convostore.rawValue]
            lines.append("")
            lines.append("ConvoStore's live phase with store.backup(to:) in a loop (one run after the trials):")
            lines.append("- live events/s: \(Format.count(Int(backup.eventsPerS)))" + (plain.map { " (the trials' median without backups: \(Format.count(Int($0.eventsPerS))), \(Format.ratio(backup.eventsPerS / $0.eventsPerS)))" } ?? ""))
            lines.append("- live commit p50/p99: \(Format.micros(backup.commit.p50Us))/\(Format.micros(backup.commit.p99Us)); bytes written/event \(Format.count(Int(backup.liveWriteBytesPerEvent))) (the copies' writes included)")
            lines.append("- backups: \(figures.copies) taken, \(figures.passedCheck) passed check(), each \(Format.bytes(figures.bytesPerCopy)) in \(Format.micros(figures.backupSeconds.p50Us)) (p50)")
            for problem in figures.problems { lines.append("  - FAILED: \(problem)") }
        }
        if let server = run.serverMode {
            lines.append("")
            lines.append(
                "Server mode: \(ServerMode.tasks) tasks, one event per submit, offered rate stepped up; a step holds with ack p99 <= \(Int(ServerMode.p99LimitMs)) ms "
                    + "and 95% of the offered rate achieved; ConvoStore's store compacted after its import (`mdb_copy -c`), as a server is told to:")
            for name in server.keys.sorted() {
                let result = server[name]!
                lines.append("- \(name): highest rate that held \(result.highestHeldPerS.map { Format.count($0) + " events/s" } ?? "none") (\(result.stoppedBecause))")
            }
        }
        return lines
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

    private static func markdownTable(_ rows: [[String]]) -> String {
        var out = "| " + rows[0].joined(separator: " | ") + " |\n"
        out += "|" + rows[0].enumerated().map { $0.offset == 0 ? "---" : "---:" }.joined(separator: "|") + "|\n"
        for row in rows.dropFirst() { out += "| " + row.joined(separator: " | ") + " |\n" }
        return out
    }

    /// `--page-census`: the pages a live batch wrote, tree by tree, largest first.
    private static func pageCensusTable(_ name: String, _ census: PageCensusFigures, measuredBytesPerEvent: Double) -> String {
        var out = "\n\(name), pages written per live batch of \(Format.count(Int(census.eventsPerBatch))) events, by tree "
            + "(`--page-census`: \(census.batches) batches, \(census.commits) commits, counted exactly; median of the trials):\n\n"
        var rows = [["tree", "branch", "leaf", "overflow", "pages", "bytes per event", "share"]]
        let total = census.pagesPerBatch
        func row(_ label: String, _ branch: Double, _ leaf: Double, _ overflow: Double) -> [String] {
            let pages = branch + leaf + overflow
            return [label, Format.fixed(branch, 1), Format.fixed(leaf, 1), Format.fixed(overflow, 1), Format.fixed(pages, 1),
                    Format.count(Int((pages * Double(census.pageSize) / census.eventsPerBatch).rounded())),
                    total > 0 ? Format.fixed(100 * pages / total, 1) + "%" : "-"]
        }
        for tree in census.trees.sorted(by: { $0.total > $1.total }) where tree.total > 0 {
            rows.append(row(tree.database, tree.branch, tree.leaf, tree.overflow))
        }
        let sum = census.trees.reduce((0.0, 0.0, 0.0)) { ($0.0 + $1.branch, $0.1 + $1.leaf, $0.2 + $1.overflow) }
        rows.append(row("**all trees**", sum.0, sum.1, sum.2))
        out += Self.markdownTable(rows)
        out += "\nBeside it, the whole live phase's write calls: \(Format.count(Int(measuredBytesPerEvent.rounded()))) bytes per event "
            + "(the pages above, the free list's included, and a meta page per commit).\n"
        return out
    }

    private static func markdown(_ report: Report) -> String {
        var out = "# ConvoStore load benchmark\n\nStarted \(report.startedAt), seed \(report.seed), \(report.cores) cores, "
            + "\(Format.fixed(report.wallSeconds / 60, 1)) minutes. Figures are defined in Benchmarks/README.md; with several trials, a cell is "
            + "the median and the min-max over the trials, and the ratios (ConvoStore over the engine) are of medians.\n"
        if !report.liveDurable { out += "\n**UNSYNCED live commits (`--unsafe-no-sync-live`): a diagnosis, not figures to quote.**\n" }
        for run in report.runs {
            out += "\n## \(Format.count(run.users)) users\n\n" + Self.heading(run, of: report) + ".\n\n"
            out += Self.markdownTable(Self.table(run, of: report))
            for line in Self.extras(run) { out += line + "\n" }
            for name in Self.ordered(run.engines.keys) {
                guard let census = run.engines[name]?.pageCensus else { continue }
                out += Self.pageCensusTable(name, census, measuredBytesPerEvent: run.engines[name]!.liveWriteBytesPerEvent)
            }
            if let server = run.serverMode {
                for name in server.keys.sorted() {
                    out += "\n\(name), server mode:\n\n"
                    var rows = [["offered events/s", "achieved", "ack p50/p99/p999", "commits", "requests/commit mean, p50, p99, max", "holds"]]
                    let result = server[name]!
                    for (step, warmup) in (result.warmup.map { [($0, true)] } ?? []) + result.steps.map({ ($0, false) }) {
                        rows.append([
                            Format.count(step.offeredPerS), Format.count(Int(step.achievedPerS)), Format.latency(step.ack), Format.count(step.commits),
                            "\(Format.fixed(step.batchMean, 1)), \(step.batchP50), \(step.batchP99), \(step.batchMax)",
                            warmup ? "warm-up, not counted" : step.held ? "yes" : "**no**",
                        ])
                    }
                    out += Self.markdownTable(rows)
                }
            }
        }
        out += "\n## Goals\n\n"
        for goal in report.goals { out += "- **\(goal.status.rawValue)**: \(goal.goal): \(goal.measured)\n" }
        out += "\n## Agreement (every engine against ConvoStore, every trial)\n\n"
        for a in report.agreement {
            out += "- \(Format.count(a.users)) users, \(a.trialsCompared) trial\(a.trialsCompared == 1 ? "" : "s"): **\(a.agreed ? "agree" : "DISAGREE")**\n"
            for problem in a.problems { out += "  - DISAGREE: \(problem)\n" }
            for name in Self.ordered(a.answers.keys) { out += "  - \(name): \(a.answers[name]!)\n" }
        }
        out += "\n## Charts\n\n"
        for (file, _) in Charts.all(report) {
            out += "![\(Charts.caption(file))](\(file))\n\n"
        }
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

    /// One duration given in microseconds, in us, ms or s.
    static func micros(_ value: Double) -> String {
        if value >= 1_000_000 { return Self.fixed(value / 1_000_000, 2) + " s" }
        if value >= 1000 { return Self.fixed(value / 1000, 1) + " ms" }
        return Self.fixed(value, 1) + " us"
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
