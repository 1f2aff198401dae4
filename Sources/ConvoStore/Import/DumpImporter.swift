import Foundation
import LMDB

/// Streams dumps into a store, many lines per commit. Each rejected line is reported as
/// `file:line: reason` and kept, unchanged, in the rejects file. A checkpoint (how far, a hash of
/// every byte up to there, how long the rejects file was, the counts so far) is written in the same
/// transaction as the lines it covers, so an import killed at any moment and run again ends exactly
/// as one uninterrupted import; an input that is not the one the checkpoint covers (regenerated,
/// edited before the checkpoint) is imported from the start, its recorded lines skipped as duplicates.
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
    /// The input's name in messages: its path, or `-` for standard input.
    let name: String
    let totalBytes: Int?
    let rejects: RejectsFile
    let checkpointKey: [UInt8]?
    let started = DumpImporter.now()
    var summary = ImportSummary()
    /// Where this run starts in the input, and the state of the import there.
    var start = Checkpoint.start
    /// The state after the last commit.
    var committed = Checkpoint.start
    var lastProgress: Double

    /// Opens the input and names its rejects file.
    init(path: String, store: ConvoStore, options: ImportOptions, report: @escaping (String) -> Void) throws {
        self.store = store
        self.options = options
        self.report = report
        let isStdin = path == "-"
        self.input = isStdin ? .standardInput : try SystemFile.open(path, flags: O_RDONLY)
        self.name = isStdin ? "-" : Display.safe(path, limit: 1024)
        self.totalBytes = try self.input.regularFileSize()
        self.rejects = RejectsFile(path: options.rejectsPath ?? (isStdin ? "stdin.rejects" : "\(path).rejects"))
        // Only a named regular file can be proven the same on a later run: standard input, even
        // redirected from a file, has no name to find its checkpoint by.
        self.checkpointKey = isStdin || self.totalBytes == nil ? nil : Array("import:\(Self.canonical(path))".utf8)
        self.lastProgress = self.started
    }

    /// Continues from the checkpoint an earlier run left, if it provably covers a prefix of this
    /// very input; else starts over. Then makes sure the rejects file may be written.
    func resume() throws {
        var resumed = false
        if let checkpointKey, self.options.resume, let found = try self.store.checkpoint(checkpointKey) {
            if let saved = found, try self.covers(saved) {
                self.start = saved
                try self.input.seek(to: saved.offset)
                resumed = true
            } else if found == nil {
                self.report("\(self.name): the checkpoint of an earlier import is from an older release; importing from the start (lines already recorded are skipped as duplicates)")
            } else {
                self.report("\(self.name): this file is not the one an earlier import's checkpoint covers (it changed before the checkpoint, or its rejects file did); importing from the start (lines already recorded are skipped as duplicates)")
            }
        }
        try self.rejects.checkUsable(existingContentIsOurs: resumed || self.options.appendRejects)
        if !resumed, self.options.appendRejects { self.start.rejectsLength = self.rejects.currentLength() }
        self.committed = self.start
        self.summary.counts = self.start.counts
        self.summary.resumedAfterLine = resumed ? self.start.line : 0
    }

    /// Whether `saved` covers the first bytes of this input, as they are now, and its rejects file
    /// still holds what it counted.
    private func covers(_ saved: Checkpoint) throws -> Bool {
        guard let size = self.totalBytes, size >= saved.offset else { return false }
        guard self.rejects.currentLength() >= saved.rejectsLength else { return false }
        return try PrefixHash.of(self.input, upTo: saved.offset) == saved.prefixHash
    }

    /// Starts the parser thread: it fills batches (at most two waiting, so memory stays flat) while
    /// this thread commits them.
    func startParser() -> BatchQueue<ImportLine> {
        let queue = BatchQueue<ImportLine>(capacity: 2)
        let parser = Thread { [options = self.options, start = self.start, input = self.input] in
            defer { queue.markProducerDone() }
            var reader = LineReader(file: input, maxLineBytes: options.maxLineBytes, startOffset: start.offset, hash: start.prefixHash)
            var number = start.line
            var batch: [ImportLine] = []
            batch.reserveCapacity(options.linesPerCommit)
            do {
                while let read = try reader.next() {
                    number += 1
                    var line: ImportLine
                    switch read {
                    case .tooLong(let spill, let offset, let length):
                        line = ImportLine(
                            number: number, text: .spilled(spill, offset: offset, length: length), end: reader.offset,
                            rejectedBecause: "line of \(length) bytes, over the limit of \(options.maxLineBytes) (kept whole in the rejects file)")
                    case .line(let bytes):
                        line = ImportLine(number: number, text: bytes, end: reader.offset, format: options.format)
                    }
                    line.endHash = reader.hash
                    batch.append(line)
                    if batch.count >= options.linesPerCommit {
                        _ = reader.takeSpill()  // the next batch's over-long lines go to a spill file of their own
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

    /// Why a batch stopped early.
    private enum Stop {
        /// At a rejected line under `strict`: nothing of it is committed, nor the checkpoint past it.
        case strict(at: Int)
        /// At the rejected line that reached `maxRejects`: it is kept aside as any reject.
        case maxRejects(at: Int)
    }

    /// Commits one batch of lines with its checkpoint, then counts and reports them.
    func commit(_ batch: [ImportLine]) throws {
        let (outcomes, stop, checkpoint) = try self.apply(batch)
        self.committed = checkpoint
        StoreMetrics.shared.imported(outcomes)
        for (line, outcome) in zip(batch, outcomes) {
            self.summary.linesRead += 1
            self.summary.linesReadThisRun += 1
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
        if stop != nil { self.summary.stoppedEarly = true }
        self.reportProgress()
    }

    /// One write transaction: the lines up to a stop, their rejects synced, and the checkpoint after
    /// the last line committed.
    private func apply(_ batch: [ImportLine]) throws -> ([ImportLine.Outcome], Stop?, Checkpoint) {
        let (strict, maxRejects, before) = (self.options.strict, self.options.maxRejects, self.committed)
        return try self.store.write { writer -> ([ImportLine.Outcome], Stop?, Checkpoint) in
            // This body may run again (map growth): the rejects file goes back to where it was.
            try self.rejects.truncate(to: before.rejectsLength)
            var outcomes: [ImportLine.Outcome] = []
            outcomes.reserveCapacity(batch.count)
            var checkpoint = before
            var stop: Stop?
            for (index, line) in batch.enumerated() {
                let outcome = try line.apply(writer)
                outcomes.append(outcome)
                if outcome.isRejected {
                    try self.rejects.append(line.text)
                    if strict {
                        stop = .strict(at: index)
                        break
                    }
                }
                checkpoint.counts.count(outcome, partsSkipped: line.partsSkipped)
                checkpoint.offset = line.end
                checkpoint.line = line.number
                checkpoint.prefixHash = line.endHash
                if outcome.isRejected, let maxRejects, checkpoint.counts.rejected >= max(maxRejects, 1) {
                    stop = .maxRejects(at: index)
                    break
                }
            }
            let length = try self.rejects.sync()
            if case .strict = stop {
                // The stopping line is reported and kept aside, but the checkpoint ends before it:
                // the same import run again, once the line is fixed, goes on from it.
            } else {
                checkpoint.rejectsLength = length
            }
            if let checkpointKey = self.checkpointKey, checkpoint != before {
                try writer.saveCheckpoint(checkpointKey, checkpoint)
            }
            return (outcomes, stop, checkpoint)
        }
    }

    private func reportProgress() {
        guard let progress = self.options.progress else { return }
        let now = DumpImporter.now()
        guard now - self.lastProgress >= 0.25 else { return }
        self.lastProgress = now
        progress(ImportProgress(
            bytesRead: self.committed.offset, totalBytes: self.totalBytes, linesRead: self.summary.linesRead, rejected: self.summary.rejected,
            elapsed: now - self.started))
    }

    func summarize() -> ImportSummary {
        self.summary.bytesRead = self.committed.offset - self.start.offset
        self.summary.rejectsPath = self.summary.rejected > 0 ? self.rejects.path : nil
        self.summary.elapsed = DumpImporter.now() - self.started
        return self.summary
    }

    private static func canonical(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}

extension ImportCounts {
    mutating func count(_ outcome: ImportLine.Outcome, partsSkipped: Int) {
        self.linesRead += 1
        self.webhookPartsSkipped += partsSkipped
        switch outcome {
        case .imported: self.imported += 1
        case .duplicate: self.duplicates += 1
        case .skipped: self.skipped += 1
        case .rejected: self.rejected += 1
        }
    }
}

extension DumpImporter {
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
