import ArgumentParser
import Foundation

/// The load harness: ConvoStore side by side with SQLite, raw LMDB and RocksDB on one deterministic
/// workload, in several interleaved trials.
///
/// Each engine imports once, in a child process of its own (the same executable with `--child`).
/// Then, trial after trial, each engine's live and query phases run in a new child process on a copy
/// of its imported store, so every trial starts from the same state; the engines' order changes from
/// one trial to the next, so that no engine holds the same place or follows the same engine twice
/// (``TrialOrder``). The parent collects the
/// results and writes the report: the median of each figure, its min-max, and ratios of medians.
struct LoadBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadbench",
        abstract: "ConvoStore vs SQLite vs raw LMDB vs RocksDB at millions of users.",
        discussion: "Writes report.json, report.md and SVG charts under --out (or $BENCH_OUT, or bench-results/<timestamp>/).")

    @Option(help: "User counts, comma-separated (e.g. 1000000,3000000,10000000).")
    var users = "1000000"

    @Option(help: "Engines, comma-separated: convostore, sqlite, raw_lmdb, rocksdb.")
    var engines = EngineName.standard.map(\.rawValue).joined(separator: ",")

    @Option(help: "Seed of the workload.")
    var seed: UInt64 = 42

    @Option(help: "Simulated hours at the end of the three days replayed live (durable commits, reader, scans); the rest is imported first.")
    var liveHours = Runner.defaultLiveHours

    @Option(help: "Instead of --live-hours: the last N events replayed live, whatever simulated time they span (make bench-scale: the same commits at every user count).")
    var liveEvents: Int?

    @Option(help: "Trials of every engine's live and query phases, interleaved (default: 3 from \(Format.count(LoadBench.threeTrialsFrom)) users on, else 1).")
    var trials: Int?

    @Option(help: "Output directory (default: $BENCH_OUT, else bench-results/<timestamp>).")
    var out: String?

    @Flag(help: "Import one engine at a time (clean import figures) instead of all at once (faster).")
    var isolatedImport = false

    @Option(help: "Events per import commit, every engine (the import is not synced; the live phase's commits stay \(Runner.batchSize) events).")
    var importBatch = Runner.defaultImportBatchSize

    @Option(help: "Keep every imported store under this directory, and reuse one that an earlier run with the same users, seed, live hours and --import-batch left there (hours at 10M users); its import figures are the earlier run's, and the report says when it was made.")
    var imports: String?

    @Flag(help: "Diagnosis only: leave every engine's live commits unsynced (LMDB MDB_NOSYNC, SQLite synchronous=OFF, RocksDB sync=false), to show how much of a durable commit is waiting for the disk. Not durable; the goals are not checked.")
    var unsafeNoSyncLive = false
    private var liveDurable: Bool { !self.unsafeNoSyncLive }

    @Flag(help: "Diagnosis: the LMDB engines' live phases run on compacting copies of their imports (mdb_copy -c: no free pages, as after `convostore compact`) rather than on copies keeping the free-page list the import left (docs/performance.md, \"The free-page list an import leaves\").")
    var compactCopies = false

    @Option(help: "Diagnosis: count exactly which pages this many live batches, evenly spread, write in each tree of the LMDB engines (a census of the whole file before and after each, outside the timed writes); report.md gives the table.")
    var pageCensus = 0

    @Flag(help: "Add ConvoStore without a rate card to the trials (engine convostore_no_card): what pricing with a card costs.")
    var pricingCost = false

    @Flag(help: "After the trials, the server-shaped mode: 64 tasks submitting single events at stepped rates (ConvoStore and SQLite).")
    var serverMode = false

    @Option(help: "Seconds of each offered rate in the server mode.")
    var serverStepSeconds = 5.0

    @Flag(help: "After the trials, one more ConvoStore live phase with store.backup(to:) running in a loop; each copy is checked.")
    var backupDuringLive = false

    @Flag(help: "With --imports: make the missing imports (one engine at a time) and stop, without live phases or a report.")
    var importOnly = false

    @Option(help: .hidden) var child: ChildRole?
    @Option(help: .hidden) var childEngine: EngineName?
    @Option(help: .hidden) var childResult: String?
    @Option(help: .hidden) var workloadFile: String?
    @Option(help: .hidden) var storeDirectory: String?

    /// `--live-events` if given, else `--live-hours`.
    var livePeriod: LivePeriod { self.liveEvents.map(LivePeriod.events) ?? .hours(self.liveHours) }

    /// From this many users on, `make bench` runs three trials by default.
    static let threeTrialsFrom = 200_000

    func run() async throws {
        guard (1...72).contains(self.liveHours) else { throw ValidationError("--live-hours: between 1 and 72") }
        if let liveEvents = self.liveEvents, liveEvents < Runner.batchSize {
            throw ValidationError("--live-events: at least \(Format.count(Runner.batchSize)) (one live commit)")
        }
        if let trials = self.trials, !(1...20).contains(trials) { throw ValidationError("--trials: between 1 and 20") }
        guard self.serverStepSeconds >= 1 else { throw ValidationError("--server-step-seconds: at least 1") }
        guard (0...1000).contains(self.pageCensus) else { throw ValidationError("--page-census: between 0 and 1,000 batches") }
        guard (1...1_000_000).contains(self.importBatch) else { throw ValidationError("--import-batch: between 1 and 1,000,000 events") }
        let userCounts = try self.users.split(separator: ",").map { text in
            guard let count = Int(text.replacingOccurrences(of: "_", with: "")), count >= 100 else {
                throw ValidationError("--users: '\(text)' is not a user count (at least 100)")
            }
            return count
        }.sorted()
        var engines = try self.engines.split(separator: ",").map { name in
            guard let engine = EngineName(rawValue: String(name)) else {
                throw ValidationError("--engines: unknown engine '\(name)' (\(EngineName.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return engine
        }
        if self.pricingCost, engines.contains(.convostore), !engines.contains(.convostoreNoCard) { engines.append(.convostoreNoCard) }
        if let role = self.child {
            try await self.runChild(role)
            return
        }
        if self.importOnly {
            guard let imports = self.imports else { throw ValidationError("--import-only needs --imports DIR") }
            for count in userCounts { try self.importOnly(users: count, engines: engines, into: imports) }
            return
        }
        let startedAt = ISO8601DateFormatter().string(from: Date())
        let directory = self.out ?? ProcessInfo.processInfo.environment["BENCH_OUT"].flatMap { $0.isEmpty ? nil : $0 }
            ?? "bench-results/" + startedAt.replacingOccurrences(of: ":", with: "")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let wallStart = Clock.now()

        var runs: [Report.Run] = []
        var finished: Report?
        for count in userCounts {
            runs.append(try await self.measure(users: count, engines: engines, directory: directory))
            let report = Report(
                seed: self.seed, livePeriod: self.livePeriod, importEventsPerCommit: self.importBatch,
                concurrentImport: !self.isolatedImport, liveDurable: self.liveDurable, compactedCopies: self.compactCopies,
                startedAt: startedAt, wallSeconds: Clock.seconds(since: wallStart), runs: runs)
            // Written after every user count, so that a long run (hours at 10M users) cut short keeps
            // the counts it finished.
            try ReportWriter.write(report, to: directory)
            finished = report
        }
        guard let report = finished else { throw ValidationError("--users: no user count") }
        print(ReportWriter.text(report))
        print("report: \(directory)/report.md (report.json, *.svg)")
        // A missed goal is reported (above, and in report.md), never a failure; answers that disagree,
        // or a backup that fails its check, are: the engines did not do the work they were given.
        var failures: [String] = []
        if !report.agreed {
            failures.append("the engines disagree with convostore on the overdue count, the billing counts or amounts, or the reached counts (see \"agreement\" above)")
        }
        for run in report.runs {
            for problem in run.backupDuringLive?.backup?.problems ?? [] { failures.append("a backup taken during the live phase failed its check: \(problem)") }
        }
        guard failures.isEmpty else {
            for failure in failures { FileHandle.standardError.write(Data("error: \(failure)\n".utf8)) }
            throw ExitCode(1)
        }
    }

    /// All the phases at one user count.
    private func measure(users: Int, engines: [EngineName], directory: String) async throws -> Report.Run {
        let progress = Progress(label: "loadbench \(Format.count(users)) users")
        let workloadFile = directory + "/workload-\(users).bin"
        let workloadEvents: Int
        do {
            let start = Clock.now()
            let workload = Workload(users: users, seed: self.seed)
            try workload.save(to: workloadFile)
            workloadEvents = workload.events.count
            progress.note("workload: \(Format.count(workload.events.count)) events, \(Format.count(workload.activeConversations)) conversations in \(Format.fixed(Clock.seconds(since: start), 1)) s")
        }
        defer { try? FileManager.default.removeItem(atPath: workloadFile) }
        let trials = self.trials ?? (users >= Self.threeTrialsFrom ? 3 : 1)
        let imported = Self.importedEngines(engines)
        let serverEngines = self.serverMode ? engines.filter { $0 == .convostore || $0 == .sqlite } : []
        let backupRun = self.backupDuringLive && engines.contains(.convostore)
        // A copy per trial is needed only when an imported store serves more than one live phase, or
        // outlives the run (--imports).
        let keepImports = trials > 1 || !serverEngines.isEmpty || backupRun || engines.count > imported.count || self.imports != nil
        func child(_ role: ChildRole, _ engine: EngineName, store: String, extra: [String] = []) -> EngineChild {
            EngineChild(
                role: role, engine: engine, users: users, seed: self.seed, livePeriod: self.livePeriod, workloadFile: workloadFile,
                store: store, resultPath: store + "-\(role.rawValue).json",
                extra: extra + ["--import-batch", String(self.importBatch)] + (self.liveDurable ? [] : ["--unsafe-no-sync-live"])
                    + (role == .live && self.pageCensus > 0 ? ["--page-census", String(self.pageCensus)] : []))
        }
        let kept = self.imports.map {
            KeptImports(directory: $0, users: users, seed: self.seed, livePeriod: self.livePeriod, eventsPerCommit: self.importBatch, workloadEvents: workloadEvents)
        }
        func importDirectory(_ engine: EngineName) -> String {
            kept?.store(engine.importedAs) ?? directory + "/\(engine.importedAs.rawValue)-\(users)"
        }

        var imports: [EngineName: ImportResult] = [:]
        var toImport = imported
        if let kept {
            for engine in imported {
                guard let result = try kept.reusable(engine) else { continue }
                progress.note("\(engine.rawValue): reusing the import made at \(result.madeAt) in \(kept.store(engine))")
                imports[engine] = result
                toImport.removeAll { $0 == engine }
            }
        }
        for engine in toImport { try kept?.forget(engine) }  // a record stays only beside a finished import
        func finished(_ engine: EngineName, _ result: ImportResult) throws {
            imports[engine] = result
            try kept?.record(result, of: engine)
        }
        var trialResults: [Report.Trial] = (0..<trials).map { Report.Trial(trial: $0 + 1, order: [], engines: [:]) }
        func live(_ engine: EngineName, trial: Int, inPlace: Bool) throws {
            let source = importDirectory(engine)
            let store = inPlace ? source : directory + "/\(engine.rawValue)-\(users)-trial"
            if !inPlace { try Self.copy(source, to: store, compacting: self.compactCopies && engine.usesLMDB) }
            sync()  // the copy's (or the import's) pages go to disk now, not in the first live commit
            progress.note("trial \(trial + 1) of \(trials): \(engine.rawValue)")
            var result: EngineResult = try child(.live, engine, store: store).run()
            try? FileManager.default.removeItem(atPath: store)
            if let imported = imports[engine.importedAs] {
                result.importEvents = imported.importEvents
                result.importSeconds = imported.importSeconds
                result.importEventsPerS = imported.importEventsPerS
                result.importCommit = imported.importCommit
                if !toImport.contains(engine.importedAs) {
                    result.importReusedFrom = importDirectory(engine)
                    result.importMadeAt = imported.madeAt
                }
            }
            trialResults[trial].engines[engine.rawValue] = result
            trialResults[trial].order.append(engine.rawValue)
        }

        if !keepImports && self.isolatedImport {
            // One engine at a time from import to the end of its live phase: at 10M users each store
            // takes about 14 GiB, and two would not fit in the page cache together.
            for engine in imported {
                try finished(engine, child(.importing, engine, store: importDirectory(engine)).run())
                try live(engine, trial: 0, inPlace: true)
            }
        } else {
            if self.isolatedImport {
                for engine in toImport { try finished(engine, child(.importing, engine, store: importDirectory(engine)).run()) }
            } else {
                // Concurrent imports (each in its own process): their import figures share the machine.
                let children = toImport.map { child(.importing, $0, store: importDirectory($0)) }
                for c in children { try c.start() }
                for (engine, c) in zip(toImport, children) { try finished(engine, c.wait()) }
            }
            for (trial, order) in TrialOrder.schedule(count: engines.count, trials: trials).enumerated() {
                for index in order { try live(engines[index], trial: trial, inPlace: !keepImports) }
            }
        }

        var serverResults: [String: ServerModeResult] = [:]
        for engine in serverEngines {
            let store = directory + "/\(engine.rawValue)-\(users)-server"
            // Compacted always: a server opening a store an import left is warned that its small
            // commits write the import's long free-page list again, and told to compact it first.
            try Self.copy(importDirectory(engine), to: store, compacting: engine.usesLMDB)
            sync()
            progress.note("server mode: \(engine.rawValue)")
            serverResults[engine.rawValue] = try child(.server, engine, store: store, extra: ["--server-step-seconds", String(self.serverStepSeconds)]).run()
            try? FileManager.default.removeItem(atPath: store)
        }
        var backupResult: EngineResult?
        if backupRun {
            let store = directory + "/convostore-\(users)-backup"
            try Self.copy(importDirectory(.convostore), to: store, compacting: self.compactCopies)
            sync()
            progress.note("live phase with backups running: convostore")
            backupResult = try child(.live, .convostore, store: store, extra: ["--backup-during-live"]).run()
            try? FileManager.default.removeItem(atPath: store)
        }
        if kept == nil {
            for engine in imported { try? FileManager.default.removeItem(atPath: importDirectory(engine)) }
        }
        return try Report.Run(users: users, trials: trialResults, serverMode: serverResults.isEmpty ? nil : serverResults, backupDuringLive: backupResult)
    }

    /// The engines whose stores are imported (a variant such as `convostore_no_card` shares its base's).
    private static func importedEngines(_ engines: [EngineName]) -> [EngineName] {
        engines.reduce(into: []) { if !$0.contains($1.importedAs) { $0.append($1.importedAs) } }
    }

    /// `--import-only`: the imports `--imports` lacks at one user count, one engine at a time.
    private func importOnly(users: Int, engines: [EngineName], into imports: String) throws {
        let progress = Progress(label: "loadbench \(Format.count(users)) users")
        try FileManager.default.createDirectory(atPath: imports, withIntermediateDirectories: true)
        let workloadFile = imports + "/workload-\(users).bin"
        let workload = Workload(users: users, seed: self.seed)
        try workload.save(to: workloadFile)
        defer { try? FileManager.default.removeItem(atPath: workloadFile) }
        let kept = KeptImports(
            directory: imports, users: users, seed: self.seed, livePeriod: self.livePeriod, eventsPerCommit: self.importBatch,
            workloadEvents: workload.events.count)
        for engine in Self.importedEngines(engines) {
            if let result = try kept.reusable(engine) {
                progress.note("\(engine.rawValue): kept import of \(result.madeAt) (\(Format.count(result.importEvents)) events in \(Format.fixed(result.importSeconds, 1)) s)")
                continue
            }
            try kept.forget(engine)
            let store = kept.store(engine)
            let result: ImportResult = try EngineChild(
                role: .importing, engine: engine, users: users, seed: self.seed, livePeriod: self.livePeriod, workloadFile: workloadFile,
                store: store, resultPath: store + "-import.json", extra: ["--import-batch", String(self.importBatch)]
            ).run()
            try kept.record(result, of: engine)
            progress.note("\(engine.rawValue): imported \(Format.count(result.importEvents)) events in \(Format.fixed(result.importSeconds, 1)) s "
                + "(\(Format.count(Int(result.importEventsPerS))) events/s), kept in \(store)")
        }
    }

    /// `--imports`: imported stores kept from one run to the next. Each is a directory named by its
    /// engine, users, seed and live hours, beside a record of its import (`<name>.json`), written only
    /// once the import has finished: a directory without its record is an import cut short, made again.
    struct KeptImports {
        let directory: String
        let users: Int
        let seed: UInt64
        let livePeriod: LivePeriod
        let eventsPerCommit: Int
        /// Every event of the run's workload, imported or live: a kept import from another workload is refused.
        let workloadEvents: Int

        func store(_ engine: EngineName) -> String {
            self.directory + "/\(engine.rawValue)-\(self.users)-seed\(self.seed)-\(self.livePeriod.label)"
        }

        private func recordPath(_ engine: EngineName) -> String { self.store(engine) + ".json" }

        /// The finished import of `engine` kept here, if there is one made with this run's settings.
        func reusable(_ engine: EngineName) throws -> ImportResult? {
            let path = self.recordPath(engine)
            guard FileManager.default.fileExists(atPath: path), FileManager.default.fileExists(atPath: self.store(engine)) else { return nil }
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            let result: ImportResult
            do {
                result = try decoder.decode(ImportResult.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
            } catch {
                throw ValidationError("--imports: \(path) is not an import record (\(error)); remove it and its store to import again")
            }
            guard result.workloadVersion == Workload.version else {
                throw ValidationError(
                    "--imports: \(self.store(engine)) was imported from version \(result.workloadVersion.map(String.init) ?? "1") of the workload's generator, "
                        + "this run's is \(Workload.version) (message ids as long as the platform's): remove it to import again")
            }
            guard result.workloadEvents == self.workloadEvents else {
                throw ValidationError(
                    "--imports: \(self.store(engine)) was imported from a workload of \(Format.count(result.workloadEvents)) events, "
                        + "this run's has \(Format.count(self.workloadEvents)) (the workload's generator changed): remove it to import again")
            }
            guard result.eventsPerCommit == self.eventsPerCommit else {
                throw ValidationError(
                    "--imports: \(self.store(engine)) was imported with \(Format.count(result.eventsPerCommit)) events per commit, "
                        + "not \(Format.count(self.eventsPerCommit)): pass --import-batch \(result.eventsPerCommit), or remove it to import again")
            }
            return result
        }

        /// Removes the record of `engine`'s import, before a new import into its directory.
        func forget(_ engine: EngineName) throws {
            if FileManager.default.fileExists(atPath: self.recordPath(engine)) { try FileManager.default.removeItem(atPath: self.recordPath(engine)) }
        }

        /// Records a finished import (its store is then reusable).
        func record(_ result: ImportResult, of engine: EngineName) throws {
            try FileManager.default.createDirectory(atPath: self.directory, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(result).write(to: URL(fileURLWithPath: self.recordPath(engine)), options: .atomic)
        }
    }

    /// Copies a store's directory (`cp -a`: sparse files stay sparse).
    /// `cp -a`; with `compacting`, an LMDB store's data file is written by `mdb_copy -c` instead
    /// (free pages left out, as `convostore compact` does) and its other files by `cp -a`.
    private static func copy(_ source: String, to destination: String, compacting: Bool) throws {
        try? FileManager.default.removeItem(atPath: destination)
        guard compacting else { return try Self.run("/bin/cp", ["-a", source, destination]) }
        try FileManager.default.createDirectory(atPath: destination, withIntermediateDirectories: false)
        try Self.run("/usr/bin/mdb_copy", ["-c", source, destination])
        for name in try FileManager.default.contentsOfDirectory(atPath: source) where name != "data.mdb" && name != "lock.mdb" {
            try Self.run("/bin/cp", ["-a", source + "/" + name, destination + "/" + name])
        }
    }

    private static func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw EngineFailure(description: "\((executable as NSString).lastPathComponent) \(arguments.joined(separator: " ")) failed")
        }
    }

    // MARK: Child processes

    enum ChildRole: String, ExpressibleByArgument {
        case importing = "import", live, server
    }

    /// A child: loads the workload, runs one phase of one engine, writes its result as JSON.
    private func runChild(_ role: ChildRole) async throws {
        guard let engine = self.childEngine, let resultPath = self.childResult, let workloadFile = self.workloadFile, let store = self.storeDirectory else {
            throw ValidationError("--child needs --child-engine, --child-result, --workload-file and --store-directory")
        }
        _ = ParentWatch()
        let progress = Progress(label: "\(engine.rawValue) \(role.rawValue)")
        if role == .server { GroupCommitBatches.bootstrap() }  // before the store opens
        let start = Clock.now()
        let workload = try Workload(loading: workloadFile)
        progress.note("workload loaded in \(Format.fixed(Clock.seconds(since: start), 1)) s")
        var runner = Runner(engineName: engine, workload: workload, livePeriod: self.livePeriod, directory: store, progress: progress)
        runner.importBatchSize = self.importBatch
        runner.pageCensusBatches = self.pageCensus
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let data: Data
        switch role {
        case .importing:
            try? FileManager.default.removeItem(atPath: store)
            try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
            let result = try await runner.importPhase()
            progress.note("imported \(Format.count(result.importEvents)) events in \(Format.fixed(result.importSeconds, 1)) s")
            data = try encoder.encode(result)
        case .live:
            let result = try await runner.livePhase(durable: self.liveDurable, backupDuringLive: self.backupDuringLive)
            progress.note("done: \(Format.count(Int(result.eventsPerS))) live events/s in \(Format.fixed(result.writeSeconds, 1)) s of commits, store \(Format.bytes(result.sizeBytes))")
            data = try encoder.encode(result)
        case .server:
            guard let opened = try engine.open(directory: store, workload: workload, mode: .live(durable: self.liveDurable)) as? any GroupCommitEngine else {
                throw ValidationError("\(engine.rawValue) has no server mode")
            }
            (opened as? SQLiteEngine)?.startGroupCommit(maxEventsPerCommit: Runner.groupCommitLimit)
            let result = try await ServerMode.run(
                engine: opened, name: engine, users: workload.users, events: workload.events[runner.liveStart...],
                stepSeconds: self.serverStepSeconds, progress: progress)
            try opened.close()
            data = try encoder.encode(result)
        }
        try data.write(to: URL(fileURLWithPath: resultPath))
    }
}

extension EngineName: ExpressibleByArgument {}

/// A child's link to its parent, through its standard input: end of file means the parent is gone,
/// so the child exits at once rather than load the machine under the next run's measurements.
final class ParentWatch: Sendable {
    init() {
        let thread = Thread {
            while readLine() != nil {}
            FileHandle.standardError.write(Data("loadbench child: the parent went away; exiting\n".utf8))
            exit(3)
        }
        thread.name = "parent-watch"
        thread.start()
    }
}

/// One child process, seen from the parent.
final class EngineChild {
    private let name: String
    private let resultPath: String
    private let process = Process()
    private let input = Pipe()

    init(role: LoadBench.ChildRole, engine: EngineName, users: Int, seed: UInt64, livePeriod: LivePeriod, workloadFile: String, store: String, resultPath: String, extra: [String]) {
        self.name = "\(engine.rawValue) \(role.rawValue) (\(Format.count(users)) users)"
        self.resultPath = resultPath
        self.process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        self.process.arguments = [
            "--child", role.rawValue, "--child-engine", engine.rawValue, "--users", String(users), "--seed", String(seed),
            "--workload-file", workloadFile, "--store-directory", store, "--child-result", resultPath,
        ] + livePeriod.arguments + extra
        self.process.standardInput = self.input
    }

    func start() throws {
        try self.process.run()
    }

    /// Waits for the child and reads its result.
    func wait<T: Decodable>() throws -> T {
        self.process.waitUntilExit()
        guard self.process.terminationStatus == 0 else {
            throw EngineFailure(description: "\(self.name) failed (exit status \(self.process.terminationStatus)); see its messages above")
        }
        let data = try Data(contentsOf: URL(fileURLWithPath: self.resultPath))
        try FileManager.default.removeItem(atPath: self.resultPath)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(T.self, from: data)
    }

    /// Starts the child and waits for its result.
    func run<T: Decodable>() throws -> T {
        try self.start()
        return try self.wait()
    }
}
