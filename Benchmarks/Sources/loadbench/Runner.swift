import Foundation
import Synchronization

/// The figures of one engine at one user count.
struct EngineResult: Codable, Sendable {
    var engine: EngineName
    var users: Int
    var events: Int
    var conversations: Int
    var messages: Int

    // Import phase: the stream up to the live phase, in commits of ``Runner/importBatchSize`` events, not synced.
    var importEvents: Int
    var importSeconds: Double
    var importEventsPerS: Double
    var importCommit: LatencySummary

    // Live phase: the last simulated hours, durable commits of ``Runner/batchSize`` events, while one
    // reader thread runs send checks, and the scans of every simulated minute.
    var liveEvents: Int
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
    /// Single-thread send checks on random conversations.
    var pointRead: LatencySummary
    var pointReadsPerS: Double

    var sizeBytes: Int
    var bytesPerConversation: Double
    var bytesPerMessage: Double
    /// Peak resident memory of the engine's process (VmHWM), which includes the workload in memory.
    var peakRssBytes: Int
    /// Peak resident memory once the workload was generated, before the engine opened.
    var workloadRssBytes: Int
    var billing: BillingTotals?
}

/// Replays a workload into one engine and measures it.
struct Runner {
    /// Events per commit in the live phase (every engine).
    static let batchSize = 1000
    /// Events per commit in the import phase (every engine).
    static let importBatchSize = 10_000
    static let minute: Int64 = 60_000
    static let probeEntries = 1000

    let engineName: EngineName
    let workload: Workload
    /// The live phase covers the last `liveHours` simulated hours.
    let liveHours: Int
    /// Whether live commits are synced (false only for `--unsafe-no-sync-live`).
    let liveDurable: Bool
    let directory: String
    let progress: Progress
    /// Called between the import and the live phase: the parent lets one engine at a time go live.
    let waitForLivePhase: () throws -> Void

    func run() async throws -> EngineResult {
        let workloadRSS = System.peakResidentBytes()
        let engine = try self.engineName.open(directory: self.directory, workload: self.workload)
        let events = self.workload.events
        let liveFrom = Workload.end - Int64(self.liveHours) * Workload.hour
        let liveStart = events.partitioningIndex { $0.at >= liveFrom }

        var importCommits = Latencies()
        let importStart = Clock.now()
        var done = 0
        while done < liveStart {
            let batch = events[done..<min(done + Self.importBatchSize, liveStart)]
            try await importCommits.time { try await engine.apply(batch) }
            done = batch.endIndex
            self.progress.update("import", done: done, of: liveStart, simulatedNow: batch.last!.at)
        }
        let importSeconds = Clock.seconds(since: importStart)
        try engine.beginLivePhase(durable: self.liveDurable)
        sync()  // the import's unsynced pages go to disk now, not in the first live commit
        try self.waitForLivePhase()

        let reader = SendCheckReader(engine: engine, conversations: self.workload.conversations.count, seed: self.workload.seed)
        reader.simulatedNow.store(liveFrom, ordering: .relaxed)
        reader.start()
        var commits = Latencies()
        var newlyOverdueScans = Latencies()
        var closingScans = Latencies()
        var newlyOverdueEntries = 0
        var closingEntries = 0
        var writeNanos: UInt64 = 0
        var nextScan = liveFrom + Self.minute
        let writtenBefore = System.writtenBytes()
        let liveStartTime = Clock.now()
        while done < events.count {
            let batch = events[done..<min(done + Self.batchSize, events.count)]
            let start = Clock.now()
            try await commits.time { try await engine.apply(batch) }
            writeNanos += Clock.now() - start
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

        self.progress.note("query phase: overdue scan, newly-overdue probe, point reads, billing")
        let asOf = Workload.end
        var overdueCount = 0
        var bestScan = Double.infinity
        for _ in 0..<3 {
            let start = Clock.now()
            overdueCount = try engine.countOverdue(asOf: asOf)
            bestScan = min(bestScan, Clock.seconds(since: start))
        }
        var probe = Latencies()
        for _ in 0..<100 {
            _ = try probe.time { try engine.newlyOverdue(after: Workload.start + Workload.duration / 2, until: asOf, limit: Self.probeEntries) }
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
            importEvents: liveStart, importSeconds: importSeconds, importEventsPerS: Double(liveStart) / importSeconds,
            importCommit: importCommits.summary,
            liveEvents: liveEvents, liveSeconds: liveSeconds, writeSeconds: Double(writeNanos) / 1e9,
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
            pointRead: pointReads.summary, pointReadsPerS: Double(pointReads.count) / readSeconds,
            sizeBytes: size,
            bytesPerConversation: Double(size) / Double(self.workload.activeConversations),
            bytesPerMessage: Double(size) / Double(self.workload.messageCount),
            peakRssBytes: System.peakResidentBytes(), workloadRssBytes: workloadRSS,
            billing: billing)
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

/// One progress line on stderr at most every second.
final class Progress: @unchecked Sendable {
    // @unchecked: used by the writing task only.
    private let label: String
    private var last = Clock.now()
    private var lastReads = 0
    private var lastDone = 0
    private var phase = ""

    init(label: String) { self.label = label }

    func note(_ text: String) {
        FileHandle.standardError.write(Data("[\(self.label)] \(text)\n".utf8))
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
