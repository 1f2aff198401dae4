import ArgumentParser
import Foundation

/// The load harness: ConvoStore side by side with SQLite and raw LMDB on one deterministic workload.
///
/// Each engine runs in a child process of its own (the same executable with `--child-engine`), so
/// its peak memory is its own; the parent collects the results and writes the report.
struct LoadBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadbench",
        abstract: "ConvoStore vs SQLite vs raw LMDB at millions of users.",
        discussion: "Writes report.json, report.md and events-per-s.svg under --out (or $BENCH_OUT, or bench-results/<timestamp>/).")

    @Option(help: "User counts, comma-separated (e.g. 1000000,3000000,10000000).")
    var users = "1000000"

    @Option(help: "Engines, comma-separated: convostore, sqlite, raw_lmdb.")
    var engines = EngineName.allCases.map(\.rawValue).joined(separator: ",")

    @Option(help: "Seed of the workload.")
    var seed: UInt64 = 42

    @Option(help: "Simulated hours at the end of the three days replayed live (durable commits, reader, scans); the rest is imported first.")
    var liveHours = 2

    @Option(help: "Output directory (default: $BENCH_OUT, else bench-results/<timestamp>).")
    var out: String?

    @Flag(help: "Import one engine at a time (clean import figures) instead of all at once (faster).")
    var isolatedImport = false

    @Flag(help: "Diagnosis only: leave every engine's live commits unsynced (LMDB MDB_NOSYNC, SQLite synchronous=OFF), to show how much of a durable commit is waiting for the disk. Not durable; the goals are not checked.")
    var unsafeNoSyncLive = false
    private var liveDurable: Bool { !self.unsafeNoSyncLive }

    @Option(help: .hidden)
    var childEngine: EngineName?

    @Option(help: .hidden)
    var childResult: String?

    func run() async throws {
        guard (1...72).contains(self.liveHours) else { throw ValidationError("--live-hours: between 1 and 72") }
        let userCounts = try self.users.split(separator: ",").map { text in
            guard let count = Int(text.replacingOccurrences(of: "_", with: "")), count >= 100 else {
                throw ValidationError("--users: '\(text)' is not a user count (at least 100)")
            }
            return count
        }.sorted()
        let engines = try self.engines.split(separator: ",").map { name in
            guard let engine = EngineName(rawValue: String(name)) else {
                throw ValidationError("--engines: unknown engine '\(name)' (convostore, sqlite, raw_lmdb)")
            }
            return engine
        }
        if let engine = self.childEngine, let resultPath = self.childResult, let directory = self.out {
            try await Self.child(
                engine: engine, users: userCounts[0], seed: self.seed, liveHours: self.liveHours, liveDurable: self.liveDurable,
                directory: directory, resultPath: resultPath)
            return
        }
        let startedAt = ISO8601DateFormatter().string(from: Date())
        let directory = self.out ?? ProcessInfo.processInfo.environment["BENCH_OUT"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "bench-results/" + startedAt.replacingOccurrences(of: ":", with: "")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)

        var runs: [Report.Run] = []
        for count in userCounts {
            let children = engines.map {
                EngineChild(engine: $0, users: count, seed: self.seed, liveHours: self.liveHours, liveDurable: self.liveDurable, directory: directory)
            }
            var results: [String: EngineResult] = [:]
            if self.isolatedImport {
                for child in children {
                    try child.start()
                    try child.waitUntilImported()
                    results[child.engine.rawValue] = try child.runLivePhase()
                }
            } else {
                for child in children { try child.start() }
                for child in children { try child.waitUntilImported() }
                for child in children { results[child.engine.rawValue] = try child.runLivePhase() }
            }
            runs.append(Report.Run(users: count, engines: results))
        }
        let report = Report(seed: self.seed, concurrentImport: !self.isolatedImport, liveDurable: self.liveDurable, startedAt: startedAt, runs: runs)
        try ReportWriter.write(report, to: directory)
        print(ReportWriter.text(report))
        print("report: \(directory)/report.json, report.md, events-per-s.svg")
        guard report.agreed else {
            FileHandle.standardError.write(Data("error: convostore and sqlite disagree on the overdue count or billing totals: they did not do the same work\n".utf8))
            throw ExitCode(1)
        }
    }

    /// The child: generates the workload, runs one engine in a fresh directory, writes the result.
    private static func child(
        engine: EngineName, users: Int, seed: UInt64, liveHours: Int, liveDurable: Bool, directory: String, resultPath: String
    ) async throws {
        let parent = ParentWatch()
        let progress = Progress(label: "\(engine.rawValue) \(Format.count(users)) users")
        try? FileManager.default.removeItem(atPath: directory)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let start = Clock.now()
        let workload = Workload(users: users, seed: seed)
        progress.note("workload: \(Format.count(workload.events.count)) events, \(Format.count(workload.activeConversations)) conversations in \(Format.fixed(Clock.seconds(since: start), 1)) s")
        let result = try await Runner(
            engineName: engine, workload: workload, liveHours: liveHours, liveDurable: liveDurable, directory: directory, progress: progress
        ) {
            // Tell the parent the import is done, and wait for its turn to go live.
            FileHandle.standardOutput.write(Data((EngineChild.imported + "\n").utf8))
            parent.waitForGo()
        }.run()
        progress.note("done: \(Format.count(Int(result.eventsPerS))) live events/s, store \(Format.bytes(result.sizeBytes))")
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        try encoder.encode(result).write(to: URL(fileURLWithPath: resultPath))
    }
}

extension EngineName: ExpressibleByArgument {}

/// A child's link to its parent, through its standard input: the parent's "go" lets the live phase
/// start, and end of file means the parent is gone, so the child exits at once rather than load the
/// machine under the next run's measurements.
final class ParentWatch: Sendable {
    private let go = DispatchSemaphore(value: 0)

    init() {
        let thread = Thread { [go] in
            while let line = readLine() {
                if line == EngineChild.go { go.signal() }
            }
            FileHandle.standardError.write(Data("loadbench child: the parent went away; exiting\n".utf8))
            exit(3)
        }
        thread.name = "parent-watch"
        thread.start()
    }

    func waitForGo() { self.go.wait() }
}

/// One engine's child process, seen from the parent. Children may import at the same time, but only
/// one at a time runs its live and query phases, so that those measure an otherwise idle machine.
final class EngineChild {
    static let imported = "imported"
    static let go = "go"

    let engine: EngineName
    private let name: String
    private let store: String
    private let resultPath: String
    private let process = Process()
    private let input = Pipe()
    private let output = Pipe()

    init(engine: EngineName, users: Int, seed: UInt64, liveHours: Int, liveDurable: Bool, directory: String) {
        self.engine = engine
        self.name = "\(engine.rawValue)-\(users)"
        self.store = directory + "/" + self.name
        self.resultPath = directory + "/" + self.name + ".json"
        self.process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        self.process.arguments = [
            "--child-engine", engine.rawValue, "--users", String(users), "--seed", String(seed), "--live-hours", String(liveHours),
            "--out", self.store, "--child-result", self.resultPath,
        ] + (liveDurable ? [] : ["--unsafe-no-sync-live"])
        self.process.standardInput = self.input
        self.process.standardOutput = self.output
    }

    func start() throws {
        try self.process.run()
    }

    /// Waits for the child to finish its import phase.
    func waitUntilImported() throws {
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = self.output.fileHandleForReading.availableData
            guard !chunk.isEmpty else { throw self.failure() }
            line.append(chunk)
        }
        guard String(decoding: line, as: UTF8.self).hasPrefix(Self.imported) else { throw self.failure() }
    }

    /// Lets the child run its live and query phases, waits for it, and reads its result.
    func runLivePhase() throws -> EngineResult {
        sync()  // other children's imports must not be flushed during this one's live phase
        self.input.fileHandleForWriting.write(Data((Self.go + "\n").utf8))
        self.process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: self.store)
        guard self.process.terminationStatus == 0 else { throw self.failure() }
        let data = try Data(contentsOf: URL(fileURLWithPath: self.resultPath))
        try FileManager.default.removeItem(atPath: self.resultPath)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(EngineResult.self, from: data)
    }

    private func failure() -> ValidationError {
        self.process.waitUntilExit()
        return ValidationError("\(self.name) failed (exit status \(self.process.terminationStatus)); see its messages above")
    }
}
