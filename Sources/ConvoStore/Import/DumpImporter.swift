import Foundation
import LMDB

/// Streams dumps into a store, many lines per commit. Each rejected line is reported as
/// `file:line: reason` and kept, unchanged, in the rejects file. A checkpoint (how far, and how long
/// the rejects file was) is written in the same transaction as the lines it covers, so an import
/// killed at any moment and run again ends exactly as one uninterrupted import.
///
/// The parts: `ImportLine` (parsing and applying one line), `LineReader`, `BatchQueue` (between
/// the parser thread and the committing one), `RejectsFile` and `Checkpoint`.
public final class DumpImporter {
    private let store: ConvoStore
    private let options: ImportOptions
    private let report: (String) -> Void

    /// Makes an importer; `report` receives one `file:line: reason` per rejected line, and notes.
    public init(store: ConvoStore, options: ImportOptions = .init(), report: @escaping (String) -> Void) {
        self.store = store
        self.options = options
        self.report = report
    }

    /// Imports one file (`-` for standard input, which cannot resume).
    public func importFile(_ path: String) throws -> ImportSummary {
        let run = try ImportRun(path: path, store: self.store, options: self.options, report: self.report)
        defer { run.rejects.close() }
        try run.resume()
        let queue = run.startParser()
        // Runs before the input is closed: the parser must be gone before its descriptor is.
        defer { queue.stopProducer() }
        reading: while !run.summary.stoppedEarly {
            switch queue.take() {
            case .end: break reading
            case .failed(let error): throw error
            case .batch(let lines): try run.commit(lines)
            }
        }
        return run.summarize()
    }
}

/// One run of an import over one input: its state from opening to the summary.
private final class ImportRun {
    let store: ConvoStore
    let options: ImportOptions
    let report: (String) -> Void
    let input: SystemFile
    /// The input's name in messages: its path, or `stdin`.
    let name: String
    let totalBytes: Int?
    let rejects: RejectsFile
    let checkpointKey: [UInt8]?
    let started = DumpImporter.now()
    var summary = ImportSummary()
    /// Where this run starts in the input.
    var start: Checkpoint
    var rejectsLength: Int
    var bytesDone: Int
    var lastProgress: Double

    /// Opens the input and names its rejects file.
    init(path: String, store: ConvoStore, options: ImportOptions, report: @escaping (String) -> Void) throws {
        self.store = store
        self.options = options
        self.report = report
        let isStdin = path == "-"
        self.input = isStdin ? .standardInput : try SystemFile.open(path, flags: O_RDONLY)
        self.name = isStdin ? "stdin" : path
        self.totalBytes = try self.input.regularFileSize()
        let rejectsPath = options.rejectsPath ?? (isStdin ? "stdin.rejects" : "\(path).rejects")
        self.rejects = RejectsFile(path: rejectsPath)
        self.checkpointKey = isStdin ? nil : Array("import:\(Self.canonical(path))".utf8)
        self.start = Checkpoint(offset: 0, line: 0, rejectsLength: options.appendRejects ? self.rejects.currentLength() : 0, fingerprint: 0)
        self.rejectsLength = self.start.rejectsLength
        self.bytesDone = 0
        self.lastProgress = self.started
    }

    /// Continues from a checkpoint of this very file, if one matches.
    func resume() throws {
        guard let checkpointKey, self.options.resume, let saved = try self.store.checkpoint(checkpointKey) else { return }
        guard saved.fingerprint == DumpImporter.fingerprint(self.input, upTo: saved.offset), self.totalBytes.map({ $0 >= saved.offset }) ?? true else {
            self.report("\(self.name): the checkpoint of an earlier import does not match this file; importing from the start")
            return
        }
        self.start = saved
        self.rejectsLength = saved.rejectsLength
        self.summary.resumedAfterLine = saved.line
        self.bytesDone = saved.offset
        try self.input.seek(to: saved.offset)
    }

    /// Starts the parser thread: it fills batches (at most two waiting, so memory stays flat) while
    /// this thread commits them.
    func startParser() -> BatchQueue<ImportLine> {
        let queue = BatchQueue<ImportLine>(capacity: 2)
        let parser = Thread { [options = self.options, start = self.start, input = self.input] in
            defer { queue.markProducerDone() }
            var reader = LineReader(file: input, maxLineBytes: options.maxLineBytes, startOffset: start.offset)
            var number = start.line
            var batch: [ImportLine] = []
            batch.reserveCapacity(options.linesPerCommit)
            do {
                while let line = try reader.next() {
                    number += 1
                    switch line {
                    case .tooLong(let prefix):
                        batch.append(ImportLine(
                            number: number, text: prefix, end: reader.offset,
                            rejectedBecause: "line longer than \(options.maxLineBytes) bytes (its first \(prefix.count) bytes are kept in the rejects file)"))
                    case .line(let bytes):
                        batch.append(ImportLine(number: number, text: bytes, end: reader.offset, format: options.format))
                    }
                    if batch.count >= options.linesPerCommit {
                        guard queue.put(.batch(batch)) else { return }
                        batch.removeAll(keepingCapacity: true)
                    }
                }
                if !batch.isEmpty { guard queue.put(.batch(batch)) else { return } }
                _ = queue.put(.end)
            } catch {
                _ = queue.put(.failed(error))
            }
        }
        parser.name = "convostore-import-parser"
        parser.start()
        return queue
    }

    /// Commits one batch of lines with its checkpoint, then counts and reports them.
    func commit(_ batch: [ImportLine]) throws {
        self.summary.linesRead += batch.count
        self.bytesDone = batch.last?.end ?? self.bytesDone
        let (outcomes, newLength) = try self.apply(batch)
        self.rejectsLength = newLength
        for (line, outcome) in zip(batch, outcomes) {
            self.summary.webhookPartsSkipped += line.partsSkipped
            switch outcome {
            case .imported: self.summary.imported += 1
            case .duplicate: self.summary.duplicates += 1
            case .skipped: self.summary.skipped += 1
            case .rejected(let reason):
                self.summary.rejected += 1
                self.report("\(self.name):\(line.number): \(reason)")
            }
        }
        if outcomes.count < batch.count || (self.options.strict && self.summary.rejected > 0)
            || self.options.maxRejects.map({ self.summary.rejected >= $0 }) == true {
            self.summary.stoppedEarly = true
        }
        self.reportProgress()
    }

    /// One write transaction: the lines up to the first stop, their rejects synced, the checkpoint.
    private func apply(_ batch: [ImportLine]) throws -> ([ImportLine.Outcome], Int) {
        let (strict, maxRejects, rejectsSoFar, startLength) = (self.options.strict, self.options.maxRejects, self.summary.rejected, self.rejectsLength)
        return try self.store.write { writer -> ([ImportLine.Outcome], Int) in
            // This body may run again (map growth): the rejects file goes back to where it was.
            try self.rejects.truncate(to: startLength)
            var outcomes: [ImportLine.Outcome] = []
            outcomes.reserveCapacity(batch.count)
            var rejected = rejectsSoFar
            for line in batch {
                let outcome = try line.apply(writer)
                outcomes.append(outcome)
                if outcome.isRejected {
                    try self.rejects.append(line.text)
                    rejected += 1
                    if strict || maxRejects.map({ rejected >= $0 }) == true { break }
                }
            }
            let length = try self.rejects.sync()
            if let checkpointKey = self.checkpointKey {
                let last = batch[outcomes.count - 1]
                try writer.saveCheckpoint(
                    checkpointKey,
                    Checkpoint(offset: last.end, line: last.number, rejectsLength: length, fingerprint: DumpImporter.fingerprint(self.input, upTo: last.end)))
            }
            return (outcomes, length)
        }
    }

    private func reportProgress() {
        guard let progress = self.options.progress else { return }
        let now = DumpImporter.now()
        guard now - self.lastProgress >= 0.25 else { return }
        self.lastProgress = now
        progress(ImportProgress(
            bytesRead: self.bytesDone, totalBytes: self.totalBytes, linesRead: self.summary.linesRead, rejected: self.summary.rejected,
            elapsed: now - self.started))
    }

    /// The summary; lines read after an early stop were not taken, so count only what was applied.
    func summarize() -> ImportSummary {
        if self.summary.stoppedEarly {
            self.summary.linesRead = self.summary.imported + self.summary.duplicates + self.summary.skipped + self.summary.rejected
        }
        self.summary.bytesRead = self.bytesDone - self.start.offset
        self.summary.rejectsPath = self.summary.rejected > 0 || self.rejectsLength > 0 ? self.rejects.path : nil
        self.summary.elapsed = DumpImporter.now() - self.started
        return self.summary
    }

    private static func canonical(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

extension DumpImporter {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// A hash of the file's first bytes up to `offset` (at most 64 KiB), so a checkpoint is used only
    /// for the file it was made for.
    static func fingerprint(_ file: SystemFile, upTo offset: Int) -> UInt64 {
        let n = min(offset, 64 << 10)
        guard let bytes = try? file.read(count: n, at: 0), bytes.count == n else { return 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }
}
