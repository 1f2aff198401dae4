import Foundation
import LMDB
import Synchronization

/// The import phase's figures of one engine at one user count.
struct ImportResult: Codable, Sendable {
    var importEvents: Int
    var importSeconds: Double
    var importEventsPerS: Double
    var importCommit: LatencySummary
    /// Events per import commit (`--import-batch`).
    var eventsPerCommit: Int
    /// Every event of the workload (imported and live), to tell a kept import's workload.
    var workloadEvents: Int
    /// ``Workload/version`` (nil: before versions were recorded).
    var workloadVersion: Int?
    /// When the import finished (ISO 8601).
    var madeAt: String
}

/// The figures of one engine at one user count, in one trial.
struct EngineResult: Codable, Sendable {
    var engine: EngineName
    var users: Int
    var events: Int
    var conversations: Int
    var messages: Int

    // Import phase (once per engine, before the trials): the stream up to the live phase, in
    // commits of `--import-batch` events, not synced.
    var importEvents: Int
    var importSeconds: Double
    var importEventsPerS: Double
    var importCommit: LatencySummary
    /// Where the import was kept and reused from (`--imports`), and when it was made; nil when this
    /// run made it.
    var importReusedFrom: String?
    var importMadeAt: String?

    // Live phase: the last simulated hours (or events), durable commits of ``Runner/batchSize`` events, while one
    // reader thread runs send checks, and the scans of every simulated minute.
    var liveEvents: Int
    /// Simulated hours from the first live event to the workload's end (`--live-hours`' own number,
    /// or what `--live-events` spanned). Optional: reports written before it was kept lack it.
    var liveSimulatedHours: Double?
    /// Wall-clock seconds of the live phase (writes, scans, progress).
    var liveSeconds: Double
    /// Seconds spent writing in the live phase (converting and committing batches): the denominator of `eventsPerS`.
    var writeSeconds: Double
    /// Live events per second of writing, durable: the headline figure.
    var eventsPerS: Double
    /// One durable commit of ``Runner/batchSize`` events.
    var commit: LatencySummary
    /// Bytes written (write/pwrite calls) per live event: the I/O a durable commit waits for.
    var liveWriteBytesPerEvent: Double
    var sendCheckDuringLoad: LatencySummary
    var sendChecksPerSDuringLoad: Double
    /// Newly overdue in the past minute, and windows closing in the next.
    var newlyOverdueScan: LatencySummary
    var closingWindowsScan: LatencySummary
    var newlyOverdueEntries: Int
    var closingWindowsEntries: Int

    // Query phase, after the load, on a quiet store.
    /// Overdue at the end of the three days (a count by a walk of the due index).
    var overdueCount: Int
    var overdueScanSeconds: Double
    var overdueScanEntriesPerS: Double
    /// A newly-overdue scan of 1,000 entries: its time should not grow with the store.
    var newlyOverdueProbe: LatencySummary
    /// The same scan made into values with String ids, where the engine's probe does not make them
    /// (ConvoStore: the array of `WaitingConversation` against the in-place walk).
    var newlyOverdueProbeValues: LatencySummary?
    /// Single-thread send checks on random conversations.
    var pointRead: LatencySummary
    var pointReadsPerS: Double

    var sizeBytes: Int
    var bytesPerConversation: Double
    var bytesPerMessage: Double
    /// Peak resident memory of the engine's process (VmHWM), which includes the workload in memory.
    var peakRssBytes: Int
    /// Peak resident memory once the workload was loaded, before the engine opened.
    var workloadRssBytes: Int
    var billing: BillingTotals?
    /// `--backup-during-live`: the backups taken while the live phase ran.
    var backup: BackupFigures?

    /// `--page-census`: the pages that sampled live commits wrote, tree by tree.
    var pageCensus: PageCensusFigures?

    /// The live phase's commit and send-check latencies as recorded values (nanoseconds), for the
    /// percentile plots; the parent merges the trials' and leaves them out of report.json.
    var commitRecorded: [[UInt64]]?
    var sendCheckRecorded: [[UInt64]]?
}

/// `--page-census`: exactly which pages some live commits wrote, by tree, from a census of the
/// store's pages before and after each (``PageCensus``): the bytes per event taken apart.
struct PageCensusFigures: Codable, Sendable {
    /// Batches sampled, evenly spread over the live phase.
    var batches: Int
    /// LMDB commits they made (one per batch, unless the engine split one).
    var commits: Int
    var eventsPerBatch: Double
    var pageSize: Int
    /// Per tree, the mean pages written per batch, in the order of the store's trees.
    var trees: [TreePages]

    struct TreePages: Codable, Sendable {
        var database: String
        var branch: Double
        var leaf: Double
        var overflow: Double
        var total: Double { self.branch + self.leaf + self.overflow }
    }

    var pagesPerBatch: Double { self.trees.reduce(0) { $0 + $1.total } }
    var bytesPerEvent: Double { self.pagesPerBatch * Double(self.pageSize) / self.eventsPerBatch }
}

/// Sums the pages written by the sampled batches, tree by tree.
private struct PageCensusTally {
    private var written: [String: PageCounts] = [:]
    private var order: [String] = []
    private var batches = 0
    private var commits = 0
    private var events = 0
    private var pageSize = 0

    mutating func add(before: PageCensus, after: PageCensus, events: Int) {
        for database in after.databases where !self.order.contains(database) { self.order.append(database) }
        for (database, counts) in after.written(since: before) { self.written[database, default: PageCounts()] = self.written[database, default: PageCounts()] + counts }
        self.batches += 1
        self.commits += Int(after.transactionID - before.transactionID)
        self.events += events
        self.pageSize = after.pageSize
    }

    var figures: PageCensusFigures? {
        guard self.batches > 0 else { return nil }
        let n = Double(self.batches)
        return PageCensusFigures(
            batches: self.batches, commits: self.commits, eventsPerBatch: Double(self.events) / n, pageSize: self.pageSize,
            trees: self.order.map { database in
                let counts = self.written[database] ?? PageCounts()
                return .init(database: database, branch: Double(counts.branch) / n, leaf: Double(counts.leaf) / n, overflow: Double(counts.overflow) / n)
            })
    }
}

/// `--backup-during-live`: `ConvoStore.backup(to:)` in a loop, each copy to a new directory, while
/// the live phase writes; each copy is opened and checked as soon as it is taken, then removed.
struct BackupFigures: Codable, Sendable {
    var copies: Int
    /// Copies that passed `check()`.
    var passedCheck: Int
    /// The problems of the first copies that did not pass, if any.
    var problems: [String]
    var backupSeconds: LatencySummary
    var bytesPerCopy: Int
}

/// What the live phase replays: the last simulated hours of the workload (`--live-hours`), or its
/// last events (`--live-events`: the same number of commits at every user count, as `make
/// bench-scale` compares them).
enum LivePeriod: Equatable {
    case hours(Int)
    case events(Int)

    /// The time of the first live event: every event from then on is live (an event at the same
    /// millisecond as the first of the last `n` is live too), every one before it imported. The last
    /// `n` events reach back one simulated day at most, so that a small workload (a smoke run) still
    /// imports the two days before.
    func start(in workload: Workload) -> Int64 {
        switch self {
        case .hours(let hours): Workload.end - Int64(hours) * Workload.hour
        case .events(let count):
            max(workload.events[max(0, workload.events.count - count)].at, Workload.end - LivePeriod.longestEventsSpan * Workload.hour)
        }
    }

    /// The most simulated hours `--live-events` reaches back.
    static let longestEventsSpan: Int64 = 24

    /// The options a child process is given to replay the same period.
    var arguments: [String] {
        switch self {
        case .hours(let hours): ["--live-hours", String(hours)]
        case .events(let count): ["--live-events", String(count)]
        }
    }

    /// A name for a kept import made for this period: `live9h`, `live400000e`.
    var label: String {
        switch self {
        case .hours(let hours): "live\(hours)h"
        case .events(let count): "live\(count)e"
        }
    }
}

/// Replays a workload into one engine and measures it: the import phase in one process, the live
/// and query phases in another (each trial's, from a copy of the imported store).
struct Runner {
    /// Events per commit in the live phase (every engine).
    static let batchSize = 1000
    /// Events per commit in the import phase (every engine), unless `--import-batch` says otherwise.
    static let defaultImportBatchSize = 100_000
    /// The most events ConvoStore's group commit (and SQLite's, in the server mode) puts in one commit.
    /// A single `submit` of more (an import batch) is still one commit.
    static let groupCommitLimit = 10_000
    static let minute: Int64 = 60_000
    static let probeEntries = 1000
    /// Simulated hours replayed live by default: at 1M users, about 390,000 events, so that every
    /// engine commits for at least ``minimumWriteSeconds`` per trial on the development VM: the
    /// fastest there, RocksDB, committed up to 17,537 events/s (7 hours, 2026-12-02 13:05: 17.4 s),
    /// which 9 hours keep above 22 s. No longer than that: three trials of five engines are most of
    /// `make bench`'s time (12 hours, the default until 2026-12-02, made it 39 minutes).
    static let defaultLiveHours = 9
    /// The shortest live phase (seconds of commits) whose figures are meant to be quoted; the report
    /// says which engines fell short (a smoke run at a small user count always does).
    static let minimumWriteSeconds = 20.0

    let engineName: EngineName
    let workload: Workload
    /// The events replayed live: the last simulated hours, or the last events.
    let livePeriod: LivePeriod
    /// Events per import commit.
    var importBatchSize = Runner.defaultImportBatchSize
    let directory: String
    let progress: Progress
    /// `--page-census`: live batches whose written pages are counted, tree by tree (LMDB engines).
    var pageCensusBatches = 0

    /// The index of the first live event.
    var liveStart: Int {
        let liveFrom = self.liveFrom
        return self.workload.events.partitioningIndex { $0.at >= liveFrom }
    }

    /// The simulated time the live phase starts at.
    var liveFrom: Int64 { self.livePeriod.start(in: self.workload) }

    /// Imports every event before the live phase into a new store, unsynced, and leaves it on disk.
    func importPhase() async throws -> ImportResult {
        let engine = try self.engineName.open(directory: self.directory, workload: self.workload, mode: .bulkLoad)
        let events = self.workload.events
        let liveStart = self.liveStart
        var importCommits = Latencies()
        let importStart = Clock.now()
        var done = 0
        while done < liveStart {
            let batch = events[done..<min(done + self.importBatchSize, liveStart)]
            try await importCommits.time { try await engine.apply(batch) }
            done = batch.endIndex
            self.progress.update("import", done: done, of: liveStart, simulatedNow: batch.last!.at)
        }
        try engine.finishImport()
        let importSeconds = Clock.seconds(since: importStart)
        return ImportResult(
            importEvents: liveStart, importSeconds: importSeconds, importEventsPerS: Double(liveStart) / importSeconds,
            importCommit: importCommits.summary, eventsPerCommit: self.importBatchSize, workloadEvents: events.count, workloadVersion: Workload.version,
            madeAt: ISO8601DateFormatter().string(from: Date()))
    }

    /// The live phase on the store an import left in `directory`, then the query phase.
    func livePhase(durable: Bool, backupDuringLive: Bool) async throws -> EngineResult {
        let workloadRSS = System.peakResidentBytes()
        let engine = try self.engineName.open(directory: self.directory, workload: self.workload, mode: .live(durable: durable))
        let events = self.workload.events
        let liveFrom = self.liveFrom
        let liveStart = self.liveStart
        var done = liveStart

        let backups = backupDuringLive ? BackupLoop(engine: engine, directory: self.directory + "-backups") : nil
        let reader = SendCheckReader(engine: engine, conversations: self.workload.conversations.count, seed: self.workload.seed)
        reader.simulatedNow.store(liveFrom, ordering: .relaxed)
        reader.start()
        try backups?.start()
        var commits = Latencies()
        var newlyOverdueScans = Latencies()
        var closingScans = Latencies()
        var newlyOverdueEntries = 0
        var closingEntries = 0
        var writeNanos: UInt64 = 0
        var nextScan = liveFrom + Self.minute
        // The census walks the whole file before and after each sampled batch, outside the timed write
        // (and it only reads), between two commits of this process, the store's only writer.
        let censusBatches = self.engineName.usesLMDB ? self.pageCensusBatches : 0
        let liveBatches = (events.count - liveStart + Self.batchSize - 1) / Self.batchSize
        let sampled = Set((0..<censusBatches).map { ($0 + 1) * liveBatches / (censusBatches + 1) })
        var census = PageCensusTally()
        var batchIndex = 0
        let writtenBefore = System.writtenBytes()
        let liveStartTime = Clock.now()
        while done < events.count {
            let batch = events[done..<min(done + Self.batchSize, events.count)]
            let before = sampled.contains(batchIndex) ? try Environment.pageCensus(ofDirectory: self.directory) : nil
            let start = Clock.now()
            try await commits.time { try await engine.apply(batch) }
            writeNanos += Clock.now() - start
            if let before {
                census.add(before: before, after: try Environment.pageCensus(ofDirectory: self.directory), events: batch.count)
            }
            batchIndex += 1
            done = batch.endIndex
            reader.simulatedNow.store(batch.last!.at, ordering: .relaxed)
            while nextScan <= batch.last!.at {
                newlyOverdueEntries += try newlyOverdueScans.time { try engine.newlyOverdue(after: nextScan - Self.minute, until: nextScan, limit: .max) }
                closingEntries += try closingScans.time { try engine.windowsClosing(from: nextScan, to: nextScan + Self.minute) }
                nextScan += Self.minute
            }
            self.progress.update("live", done: done - liveStart, of: events.count - liveStart, simulatedNow: batch.last!.at, reads: reader.completed.load(ordering: .relaxed))
        }
        let liveSeconds = Clock.seconds(since: liveStartTime)
        let liveWritten = System.writtenBytes() - writtenBefore
        let liveEvents = events.count - liveStart
        let readsDuringLoad = try reader.stop()
        let backupFigures = try backups?.stop(progress: self.progress)

        self.progress.note("query phase: overdue scan, newly-overdue probe, point reads, billing")
        let asOf = Workload.end
        var overdueCount = 0
        var bestScan = Double.infinity
        for _ in 0..<3 {
            let start = Clock.now()
            overdueCount = try engine.countOverdue(asOf: asOf)
            bestScan = min(bestScan, Clock.seconds(since: start))
        }
        let probeFrom = Workload.start + Workload.duration / 2
        var probe = Latencies()
        for _ in 0..<100 {
            _ = try probe.time { try engine.newlyOverdue(after: probeFrom, until: asOf, limit: Self.probeEntries) }
        }
        var valuesProbe = Latencies()
        if try engine.newlyOverdueValues(after: probeFrom, until: asOf, limit: Self.probeEntries) != nil {
            for _ in 0..<100 {
                _ = try valuesProbe.time { try engine.newlyOverdueValues(after: probeFrom, until: asOf, limit: Self.probeEntries) }
            }
        }
        var pointReads = Latencies()
        var rng = SplitMix64(seed: self.workload.seed ^ 0x5EED)
        let readStart = Clock.now()
        while pointReads.count < 300_000 && Clock.seconds(since: readStart) < 2 {
            let conversation = UInt32(rng.next(below: UInt64(self.workload.conversations.count)))
            _ = try pointReads.time { try engine.checkSend(conversation: conversation, at: asOf) }
        }
        let readSeconds = Clock.seconds(since: readStart)
        let billing = try engine.billingTotals()
        try engine.close()
        let size = System.diskUsage(self.directory)

        return EngineResult(
            engine: self.engineName, users: self.workload.users, events: events.count,
            conversations: self.workload.activeConversations, messages: self.workload.messageCount,
            importEvents: liveStart, importSeconds: 0, importEventsPerS: 0,
            importCommit: LatencySummary(count: 0, p50Us: 0, p99Us: 0, p999Us: 0, maxUs: 0),
            liveEvents: liveEvents, liveSimulatedHours: Double(Workload.end - liveFrom) / Double(Workload.hour), liveSeconds: liveSeconds, writeSeconds: Double(writeNanos) / 1e9,
            eventsPerS: Double(liveEvents) / (Double(writeNanos) / 1e9),
            commit: commits.summary,
            liveWriteBytesPerEvent: Double(liveWritten) / Double(liveEvents),
            sendCheckDuringLoad: readsDuringLoad.summary,
            sendChecksPerSDuringLoad: Double(readsDuringLoad.count) / liveSeconds,
            newlyOverdueScan: newlyOverdueScans.summary, closingWindowsScan: closingScans.summary,
            newlyOverdueEntries: newlyOverdueEntries, closingWindowsEntries: closingEntries,
            overdueCount: overdueCount, overdueScanSeconds: bestScan,
            overdueScanEntriesPerS: Double(overdueCount) / bestScan,
            newlyOverdueProbe: probe.summary,
            newlyOverdueProbeValues: valuesProbe.count > 0 ? valuesProbe.summary : nil,
            pointRead: pointReads.summary, pointReadsPerS: Double(pointReads.count) / readSeconds,
            sizeBytes: size,
            bytesPerConversation: Double(size) / Double(self.workload.activeConversations),
            bytesPerMessage: Double(size) / Double(self.workload.messageCount),
            peakRssBytes: System.peakResidentBytes(), workloadRssBytes: workloadRSS,
            billing: billing, backup: backupFigures, pageCensus: census.figures,
            commitRecorded: commits.recorded, sendCheckRecorded: readsDuringLoad.recorded)
    }
}

extension Array {
    /// The first index whose element satisfies `belongs` (which must hold for a suffix), by binary search.
    func partitioningIndex(where belongs: (Element) -> Bool) -> Int {
        var low = 0
        var high = self.count
        while low < high {
            let mid = (low + high) / 2
            if belongs(self[mid]) { high = mid } else { low = mid + 1 }
        }
        return low
    }
}

/// The reader thread of the load phase: send checks on random conversations at the writer's
/// simulated time, as fast as it can, until stopped.
final class SendCheckReader: @unchecked Sendable {
    // @unchecked: `latencies` is written by the reader thread only and read after `stop()` joined it.
    let simulatedNow = Atomic<Int64>(Workload.start)
    let completed = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private let engine: any Engine
    private let conversations: Int
    private let seed: UInt64
    private var latencies = Latencies()
    private var failure: (any Error)?

    init(engine: any Engine, conversations: Int, seed: UInt64) {
        self.engine = engine
        self.conversations = conversations
        self.seed = seed
    }

    func start() {
        let thread = Thread { [self] in
            var rng = SplitMix64(seed: self.seed ^ 0xC0FFEE)
            while !self.stopping.load(ordering: .relaxed) {
                let conversation = UInt32(rng.next(below: UInt64(self.conversations)))
                let at = self.simulatedNow.load(ordering: .relaxed)
                do {
                    _ = try self.latencies.time { try self.engine.checkSend(conversation: conversation, at: at) }
                } catch {
                    self.failure = error
                    break
                }
                self.completed.add(1, ordering: .relaxed)
            }
            self.finished.signal()
        }
        thread.name = "send-check-reader"
        thread.start()
    }

    /// Stops the thread, waits for it, and returns its latencies (or the error that stopped it).
    func stop() throws -> Latencies {
        self.stopping.store(true, ordering: .relaxed)
        self.finished.wait()
        if let failure = self.failure { throw failure }
        return self.latencies
    }
}

/// `--backup-during-live`: a thread that takes backups of the ConvoStore engine's store in a loop
/// while the live phase writes, each to a new directory under `directory`, opens and checks each copy
/// (`check()`) as soon as it is taken, and removes it: one copy on disk at a time (at 1M users a copy
/// is gigabytes, and a minute of backups kept for a check at the end would fill the disk). The
/// checks therefore run during the live phase too.
final class BackupLoop: @unchecked Sendable {
    // @unchecked: the figures and `failure` are written by the backup thread only and read after
    // `stop()` joined it.
    private let engine: ConvoStoreEngine
    private let directory: String
    private let stopping = Atomic<Bool>(false)
    private let finished = DispatchSemaphore(value: 0)
    private var copies = 0
    private var passed = 0
    private var problems: [String] = []
    private var bytesPerCopy = 0
    private var seconds = Latencies()
    private var failure: (any Error)?

    init?(engine: any Engine, directory: String) {
        guard let engine = engine as? ConvoStoreEngine else { return nil }
        self.engine = engine
        self.directory = directory
    }

    func start() throws {
        try? FileManager.default.removeItem(atPath: self.directory)
        try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
        let thread = Thread { [self] in
            while !self.stopping.load(ordering: .relaxed) {
                let copy = self.directory + "/copy-\(self.copies + 1)"
                do {
                    try self.seconds.time { try self.engine.backup(to: copy) }
                    self.copies += 1
                    if self.copies == 1 { self.bytesPerCopy = System.diskUsage(copy) }
                    if let problem = try ConvoStoreEngine.check(copy: copy) {
                        if self.problems.count < 3 { self.problems.append("copy \(self.copies): \(problem)") }
                    } else {
                        self.passed += 1
                    }
                    try? FileManager.default.removeItem(atPath: copy)
                } catch {
                    self.failure = error
                    break
                }
            }
            self.finished.signal()
        }
        thread.name = "backup-loop"
        thread.start()
    }

    /// Stops the loop after the copy (and its check) under way.
    func stop(progress: Progress) throws -> BackupFigures {
        self.stopping.store(true, ordering: .relaxed)
        self.finished.wait()
        try? FileManager.default.removeItem(atPath: self.directory)
        if let failure = self.failure { throw failure }
        progress.note("backups: \(self.copies) taken, \(self.passed) passed check()")
        // Microseconds in a LatencySummary: a backup takes seconds.
        return BackupFigures(
            copies: self.copies, passedCheck: self.passed, problems: self.problems, backupSeconds: self.seconds.summary, bytesPerCopy: self.bytesPerCopy)
    }
}

/// One progress line on stderr at most every second.
final class Progress: @unchecked Sendable {
    // @unchecked: used by the writing task only.
    private let label: String
    private var last = Clock.now()
    private var lastReads = 0
    private var lastDone = 0
    private var phase = ""

    init(label: String) { self.label = label }

    /// One line, after the UTC time of day: the children's lines interleave with the parent's, and
    /// the times give each phase's share of a run.
    func note(_ text: String) {
        FileHandle.standardError.write(Data("\(Self.timeOfDay()) [\(self.label)] \(text)\n".utf8))
    }

    private static func timeOfDay() -> String {
        var now = time(nil)
        var parts = tm()
        gmtime_r(&now, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))"
    }

    func update(_ phase: String, done: Int, of total: Int, simulatedNow: Int64, reads: Int = 0) {
        if phase != self.phase {
            self.phase = phase
            self.lastDone = 0
            self.lastReads = 0
        }
        let elapsed = Clock.seconds(since: self.last)
        guard elapsed >= 1 || done == total else { return }
        let hour = Double(simulatedNow - Workload.start) / 3_600_000
        let percent = Double(done) * 100 / Double(max(total, 1))
        let rate = Int(Double(done - self.lastDone) / elapsed)
        let readRate = Int(Double(reads - self.lastReads) / elapsed)
        self.note(
            "\(phase) \(Format.fixed(percent, 0))% \(Format.count(done))/\(Format.count(total)) events, \(Format.count(rate)) events/s, "
                + "sim hour \(Format.fixed(hour, 1))/72" + (reads > 0 ? ", send checks \(Format.count(readRate))/s" : "")
                + ", rss \(Format.bytes(System.residentBytes()))")
        self.last = Clock.now()
        self.lastDone = done
        self.lastReads = reads
    }
}
