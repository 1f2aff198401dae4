import Foundation
import Histogram

/// Latencies in nanoseconds, summarised as percentiles (HdrHistogram, 3 significant digits).
struct Latencies {
    private var histogram = Histogram<UInt64>(numberOfSignificantValueDigits: .three)

    var count: Int { Int(self.histogram.totalCount) }

    /// Runs `body`, records how long it took, and returns its result.
    mutating func time<T>(_ body: () throws -> T) rethrows -> T {
        let start = Clock.now()
        defer { self.histogram.record(Clock.now() - start) }
        return try body()
    }

    mutating func time<T>(_ body: () async throws -> T) async rethrows -> T {
        let start = Clock.now()
        defer { self.histogram.record(Clock.now() - start) }
        return try await body()
    }

    /// Records one latency.
    mutating func record(nanoseconds: UInt64) {
        _ = self.histogram.record(nanoseconds)
    }

    /// The histogram's recorded values as `[value, count]` pairs (nanoseconds), small enough to pass
    /// from a child process to the parent, which merges the trials' (``init(recorded:)``).
    var recorded: [[UInt64]] {
        self.histogram.recordedValues().map { [$0.value, UInt64($0.count)] }
    }

    init() {}

    /// The histogram of several ``recorded`` lists together.
    init(recorded lists: [[[UInt64]]]) {
        for list in lists {
            for pair in list where pair.count == 2 { _ = self.histogram.record(pair[0], count: pair[1]) }
        }
    }

    /// HdrHistogram's percentile distribution (5 ticks per half distance), as `[percentile, microseconds]`
    /// points up to the maximum, for the percentile plots.
    var percentileDistribution: [[Double]] {
        guard self.count > 0 else { return [] }
        var points: [[Double]] = []
        for step in self.histogram.percentiles(ticksPerHalfDistance: 5) {
            points.append([step.percentileLevelIteratedTo, Double(step.value) / 1000])
            if step.percentileLevelIteratedTo >= 100 { break }
        }
        return points
    }

    var summary: LatencySummary {
        LatencySummary(
            count: self.count,
            p50Us: Self.micros(self.histogram.valueAtPercentile(50)),
            p99Us: Self.micros(self.histogram.valueAtPercentile(99)),
            p999Us: Self.micros(self.histogram.valueAtPercentile(99.9)),
            maxUs: Self.micros(self.histogram.max))
    }

    private static func micros(_ nanos: UInt64) -> Double { (Double(nanos) / 1000 * 10).rounded() / 10 }
}

/// Percentiles of one kind of operation, in microseconds.
struct LatencySummary: Codable, Sendable {
    var count: Int
    var p50Us: Double
    var p99Us: Double
    var p999Us: Double
    var maxUs: Double
}

/// A monotonic clock in nanoseconds.
enum Clock {
    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    static func seconds(since start: UInt64) -> Double { Double(Self.now() - start) / 1e9 }
}

/// What the operating system says about this process and its files.
enum System {
    /// The peak resident set size of this process so far (VmHWM), in bytes.
    static func peakResidentBytes() -> Int { Self.status("VmHWM:") }

    /// The current resident set size (VmRSS), in bytes.
    static func residentBytes() -> Int { Self.status("VmRSS:") }

    private static func status(_ field: String) -> Int { (Self.field(field, of: "/proc/self/status") ?? 0) * 1024 }

    /// Bytes this process has handed to write(2) and friends so far (`wchar` of /proc/self/io): for
    /// a store, the pages its commits wrote (LMDB's pages, SQLite's WAL frames and checkpoints).
    static func writtenBytes() -> Int { Self.field("wchar:", of: "/proc/self/io") ?? 0 }

    /// The number after `name` on its line of a /proc file ("VmHWM:   1234 kB" gives 1234).
    private static func field(_ name: String, of path: String) -> Int? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let line = text.split(separator: "\n").first(where: { $0.hasPrefix(name) }),
              let number = line.dropFirst(name.count).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
        else { return nil }
        return Int(number)
    }

    /// Bytes allocated on disk to the files under `path` (sparse files count what they use).
    static func diskUsage(_ path: String) -> Int {
        var total = 0
        let enumerator = FileManager.default.enumerator(atPath: path)
        while let name = enumerator?.nextObject() as? String {
            guard !name.hasSuffix(RawWorkloadWriter.stateFile) else { continue }  // the harness's, not the engine's
            var info = stat()
            if stat(path + "/" + name, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG { total += Int(info.st_blocks) * 512 }
        }
        return total
    }
}
