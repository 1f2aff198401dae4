import Foundation
import LMDB
import CoreMetrics

/// What the store records through swift-metrics (the application bootstraps a backend; the library
/// never knows which). Names follow Prometheus conventions, units in the name; no business or
/// customer id is ever a dimension (unbounded cardinality, and personal data).
///
/// | name | kind | what |
/// |---|---|---|
/// | `convostore_commit_duration_seconds` | timer | one write transaction, from begin to durable commit |
/// | `convostore_commit_events` | recorder | events (group commit) or lines (import) in one commit |
/// | `convostore_group_commit_batch_requests` | recorder | requests (`submit` calls) sharing one group commit |
/// | `convostore_group_commit_queue_depth` | gauge | requests still waiting when the writer took a batch |
/// | `convostore_scan_duration_seconds` | timer, `scan` | one index walk: `overdue`, `newly_overdue`, `windows` |
/// | `convostore_map_size_bytes` | gauge | the map's size after the last commit |
/// | `convostore_map_growths_total` | counter | times the map doubled |
/// | `convostore_reader_slots_used` | gauge | LMDB reader slots taken (its high-water mark) |
/// | `convostore_import_lines_total` | counter | lines an import committed (lines per second: its rate) |
/// | `convostore_import_rejects_total` | counter | lines an import rejected |
///
/// The handles are made once, from the backend bootstrapped when the process first writes or scans:
/// bootstrap before opening a store. Without a backend (swift-metrics' no-op default), every
/// recording call returns at its first branch and no clock is read, so metrics cost nothing there;
/// each commit records once, never once per event.
final class StoreMetrics: Sendable {
    /// The process's handles, made on first use.
    static let shared = StoreMetrics(factory: MetricsSystem.factory)

    /// The scans timed under `convostore_scan_duration_seconds`, by their `scan` dimension.
    enum Scan: Int, CaseIterable {
        case overdue, newlyOverdue, windows

        var name: String {
            switch self {
            case .overdue: "overdue"
            case .newlyOverdue: "newly_overdue"
            case .windows: "windows"
            }
        }
    }

    /// False with swift-metrics' no-op backend: then nothing below does any work.
    let enabled: Bool
    private let commitDuration: CoreMetrics.Timer
    private let commitEvents: CoreMetrics.Recorder
    private let batchRequests: CoreMetrics.Recorder
    private let queueDepth: Gauge
    private let scanDurations: [CoreMetrics.Timer]
    private let mapSize: Gauge
    private let mapGrowths: Counter
    private let readerSlots: Gauge
    private let importLines: Counter
    private let importRejects: Counter
    /// Map growths already counted, per store path (the environment counts its own since it opened).
    private let growthsSeen = StoreMetricsState()

    private init(factory: any MetricsFactory) {
        self.enabled = !(factory is NOOPMetricsHandler)
        self.commitDuration = CoreMetrics.Timer(label: "convostore_commit_duration_seconds", factory: factory)
        self.commitEvents = CoreMetrics.Recorder(label: "convostore_commit_events", aggregate: true, factory: factory)
        self.batchRequests = CoreMetrics.Recorder(label: "convostore_group_commit_batch_requests", aggregate: true, factory: factory)
        self.queueDepth = Gauge(label: "convostore_group_commit_queue_depth", factory: factory)
        self.scanDurations = Scan.allCases.map {
            CoreMetrics.Timer(label: "convostore_scan_duration_seconds", dimensions: [("scan", $0.name)], factory: factory)
        }
        self.mapSize = Gauge(label: "convostore_map_size_bytes", factory: factory)
        self.mapGrowths = Counter(label: "convostore_map_growths_total", factory: factory)
        self.readerSlots = Gauge(label: "convostore_reader_slots_used", factory: factory)
        self.importLines = Counter(label: "convostore_import_lines_total", factory: factory)
        self.importRejects = Counter(label: "convostore_import_rejects_total", factory: factory)
    }

    /// A start time for a duration, or 0 (no clock read) without a backend.
    @inline(__always)
    func start() -> UInt64 {
        self.enabled ? DispatchTime.now().uptimeNanoseconds : 0
    }

    private func elapsed(since start: UInt64) -> Int64 {
        Int64(clamping: DispatchTime.now().uptimeNanoseconds &- start)
    }

    /// After a commit of `environment` (the store at `path`): its duration, the map and the readers.
    func committed(_ environment: Environment, path: String, since start: UInt64) {
        guard self.enabled else { return }
        self.commitDuration.recordNanoseconds(self.elapsed(since: start))
        guard let info = try? environment.info() else { return }
        self.mapSize.record(info.mapSize)
        self.readerSlots.record(info.readersUsed)
        let grown = self.growthsSeen.advance(path, to: info.mapGrowths)
        if grown > 0 { self.mapGrowths.increment(by: grown) }
    }

    /// The writer thread took a batch of `requests` carrying `events`, leaving `waiting` requests queued.
    func groupCommitBatch(requests: Int, events: Int, waiting: Int) {
        guard self.enabled else { return }
        self.batchRequests.record(requests)
        self.commitEvents.record(events)
        self.queueDepth.record(waiting)
    }

    /// An import committed the lines of these outcomes.
    func imported(_ outcomes: [ImportLine.Outcome]) {
        guard self.enabled else { return }
        let rejected = outcomes.lazy.filter(\.isRejected).count
        self.commitEvents.record(outcomes.count)
        self.importLines.increment(by: outcomes.count)
        if rejected > 0 { self.importRejects.increment(by: rejected) }
    }

    /// A scan that began at `start` ended.
    func scanned(_ scan: Scan, since start: UInt64) {
        guard self.enabled else { return }
        self.scanDurations[scan.rawValue].recordNanoseconds(self.elapsed(since: start))
    }
}

/// The map growths counted so far for each store path.
private final class StoreMetricsState: @unchecked Sendable {
    // @unchecked: `seen` is only touched while `lock` is held.
    private let lock = NSLock()
    private var seen: [String: Int] = [:]

    /// Records `total` for `path` and returns how many growths are new since the last call.
    func advance(_ path: String, to total: Int) -> Int {
        self.lock.lock()
        defer { self.lock.unlock() }
        let before = self.seen[path] ?? 0
        self.seen[path] = total
        // A store closed and opened again in this process counts from 0 again.
        return total >= before ? total - before : total
    }
}
