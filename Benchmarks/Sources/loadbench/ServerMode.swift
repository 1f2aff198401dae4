import CoreMetrics
import Foundation
import Synchronization

/// The server-shaped mode (`--server-mode`): 64 concurrent tasks submit one event per request through
/// the engine's group commit (ConvoStore's public `submit`; SQLite's ``SQLiteGroupCommitter``) at an
/// offered rate that steps up, each step for a few seconds. An event's acknowledgement latency runs
/// from the time it was due (its place in the offered rate), not from when a task got to it, so a
/// writer that falls behind shows in the latency (no coordinated omission). A step holds when its p99
/// is at most 100 ms and it kept up with 95% of the offered rate; the steps stop at the first that
/// does not hold, or when the workload's events after the import run out.
enum ServerMode {
    static let tasks = 64
    static let p99LimitMs = 100.0
    /// Offered events/s, each about 1.4x the one before (2x below 1,000). The low steps are for large
    /// stores: at 1,000,000 users neither engine held 1,000 events/s (ack p99 about 200 ms), and a
    /// report of "none held" said nothing about where they stand.
    static let rates = [125, 250, 500, 1_000, 1_500, 2_000, 3_000, 4_000, 6_000, 8_000, 12_000, 16_000, 24_000, 32_000, 48_000, 64_000, 96_000, 128_000]

    static func run(
        engine: any GroupCommitEngine, name: EngineName, users: Int, events: ArraySlice<WorkloadEvent>, stepSeconds: Double, progress: Progress
    ) async throws -> ServerModeResult {
        var steps: [ServerModeStep] = []
        var next = events.startIndex
        var stopped = "the last offered rate held"
        _ = engine.takeBatchSizes()
        // A warm-up step at the first rate, reported but not counted: the first seconds after a store
        // opens stall (at 1M users, ConvoStore's first commits of one or two events took 75 to 136 ms
        // in three runs of three), which a server pays once at start, not at every offered rate.
        let warmupCount = min(Int(Double(Self.rates[0]) * stepSeconds), events.endIndex - next)
        let warmup = try await Self.step(engine: engine, events: events[next..<(next + warmupCount)], rate: Self.rates[0])
        next += warmupCount
        progress.note(Self.describe(warmup, warmup: true))
        for rate in Self.rates {
            let count = min(Int(Double(rate) * stepSeconds), events.endIndex - next)
            guard count >= rate else {
                stopped = "the workload's events ran out before \(Format.count(rate)) events/s"
                break
            }
            let step = try await Self.step(engine: engine, events: events[next..<(next + count)], rate: rate)
            next += count
            progress.note(Self.describe(step, warmup: false))
            steps.append(step)
            if !step.held {
                stopped = "\(Format.count(rate)) events/s did not hold"
                break
            }
        }
        let held = steps.prefix { $0.held }.last?.offeredPerS
        return ServerModeResult(
            engine: name, users: users, tasks: Self.tasks, stepSeconds: stepSeconds, p99LimitMs: Self.p99LimitMs, warmup: warmup, steps: steps,
            highestHeldPerS: held, stoppedBecause: stopped)
    }

    private static func step(engine: any GroupCommitEngine, events: ArraySlice<WorkloadEvent>, rate: Int) async throws -> ServerModeStep {
        let taken = SharedCounter()
        let clock = ContinuousClock()
        let start = clock.now + .milliseconds(10)
        let interval = 1.0 / Double(rate)
        let recorded = try await withThrowingTaskGroup(of: [[UInt64]].self) { group in
            for _ in 0..<Self.tasks {
                group.addTask {
                    var latencies = Latencies()
                    while true {
                        let i = taken.next()
                        guard i < events.count else { break }
                        let due = start + .seconds(Double(i) * interval)
                        if clock.now < due { try await Task.sleep(until: due, clock: clock) }
                        try await engine.submit(events[events.startIndex + i])
                        let late = clock.now - due
                        latencies.record(nanoseconds: UInt64(max(0, late.components.seconds * 1_000_000_000 + late.components.attoseconds / 1_000_000_000)))
                    }
                    return latencies.recorded
                }
            }
            var all: [[[UInt64]]] = []
            for try await list in group { all.append(list) }
            return all
        }
        let elapsed = start.duration(to: clock.now)
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let ack = Latencies(recorded: recorded).summary
        let batches = engine.takeBatchSizes().sorted()
        let achieved = Double(events.count) / seconds
        return ServerModeStep(
            offeredPerS: rate, events: events.count, seconds: seconds, achievedPerS: achieved, ack: ack,
            commits: batches.count, batchMean: batches.isEmpty ? 0 : Double(batches.reduce(0, +)) / Double(batches.count),
            batchP50: Self.percentile(batches, 0.5), batchP99: Self.percentile(batches, 0.99), batchMax: batches.last ?? 0,
            held: ack.p99Us <= Self.p99LimitMs * 1000 && achieved >= 0.95 * Double(rate))
    }

    /// One step's progress line.
    private static func describe(_ step: ServerModeStep, warmup: Bool) -> String {
        "server mode: offered \(Format.count(step.offeredPerS))/s\(warmup ? " (warm-up, not counted)" : ""), "
            + "achieved \(Format.count(Int(step.achievedPerS)))/s, "
            + "ack p50/p99 \(Format.fixed(step.ack.p50Us / 1000, 1))/\(Format.fixed(step.ack.p99Us / 1000, 1)) ms, "
            + "batch mean \(Format.fixed(step.batchMean, 1)) max \(step.batchMax)\(warmup || step.held ? "" : ": does not hold")"
    }

    private static func percentile(_ sorted: [Int], _ p: Double) -> Int {
        sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
    }
}

/// The next event's index, shared by the tasks of a step.
private final class SharedCounter: Sendable {
    private let value = Atomic<Int>(0)

    func next() -> Int { self.value.add(1, ordering: .relaxed).oldValue }
}

/// One engine's server-mode figures.
struct ServerModeResult: Codable, Sendable {
    var engine: EngineName
    var users: Int
    var tasks: Int
    var stepSeconds: Double
    var p99LimitMs: Double
    /// The step before the counted ones, at the first rate (nil in reports made before it existed).
    var warmup: ServerModeStep?
    var steps: [ServerModeStep]
    /// The highest offered rate that held (nil: not even the first).
    var highestHeldPerS: Int?
    var stoppedBecause: String
}

/// One offered rate of the server mode.
struct ServerModeStep: Codable, Sendable {
    var offeredPerS: Int
    var events: Int
    var seconds: Double
    var achievedPerS: Double
    /// From the time each event was due to its acknowledgement (after its commit).
    var ack: LatencySummary
    /// Commits, and requests per commit: the batches the group commit formed.
    var commits: Int
    var batchMean: Double
    var batchP50: Int
    var batchP99: Int
    var batchMax: Int
    var held: Bool
}

/// The requests of each ConvoStore group commit, from the store's own metric
/// `convostore_group_commit_batch_requests` (a swift-metrics backend of the harness's, installed in
/// the server mode's child process before the store opens; every other metric goes nowhere).
final class GroupCommitBatches: MetricsFactory, RecorderHandler, @unchecked Sendable {
    // @unchecked: `sizes` is only touched under `lock`.
    static let shared = GroupCommitBatches()
    private let lock = NSLock()
    private var sizes: [Int] = []

    /// Installs the backend; call once, before the store opens.
    static func bootstrap() {
        MetricsSystem.bootstrap(Self.shared)
    }

    func take() -> [Int] {
        self.lock.lock()
        defer { self.lock.unlock() }
        let taken = self.sizes
        self.sizes.removeAll()
        return taken
    }

    func record(_ value: Int64) {
        self.lock.lock()
        self.sizes.append(Int(value))
        self.lock.unlock()
    }

    func record(_ value: Double) { self.record(Int64(value)) }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        label == "convostore_group_commit_batch_requests" ? self : NOOPMetricsHandler.instance
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler { NOOPMetricsHandler.instance }
    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler { NOOPMetricsHandler.instance }
    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler { NOOPMetricsHandler.instance }
    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { NOOPMetricsHandler.instance }
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
