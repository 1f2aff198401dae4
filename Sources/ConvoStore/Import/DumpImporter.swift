import Foundation
import LMDB

/// The input format of an import.
public enum DumpFormat: String, Sendable, CaseIterable {
    /// Native JSON Lines (docs/contract.md, "Native dump format").
    case native
    /// Archives of WhatsApp Cloud API webhook deliveries, one per line.
    case webhook
}

/// How an import treats its input.
public struct ImportOptions: Sendable {
    /// The input format.
    public var format: DumpFormat = .native
    /// Where rejected lines go, unchanged; default `<dump>.rejects` (`stdin.rejects` for `-`).
    public var rejectsPath: String?
    /// Append to the rejects file instead of starting it afresh (several inputs sharing one file).
    public var appendRejects = false
    /// Stop at the first rejected line (the lines before it are committed, nothing of it).
    public var strict = false
    /// Stop after this many rejected lines.
    public var maxRejects: Int?
    /// Continue from the checkpoint a killed or finished import of the same file left (`--restart` turns it off).
    public var resume = true
    /// Events (lines) per commit.
    public var linesPerCommit = 5_000
    /// Lines longer than this are rejected without being buffered whole.
    public var maxLineBytes = 1 << 20
    /// Called a few times a second while importing (for a progress line).
    public var progress: (@Sendable (ImportProgress) -> Void)?

    /// The defaults.
    public init() {}
}

/// Where an import stands.
public struct ImportProgress: Sendable, Hashable {
    /// Bytes of the input read so far (from its start, counting a resumed part).
    public var bytesRead: Int
    /// The input's size, when it is a regular file.
    public var totalBytes: Int?
    /// Lines read in this run.
    public var linesRead: Int
    /// Lines rejected in this run.
    public var rejected: Int
    /// Seconds since this run started.
    public var elapsed: Double
}

/// What an import did; `imported + duplicates + skipped + rejected == linesRead`.
public struct ImportSummary: Sendable, Hashable {
    /// Lines read in this run (including blank ones).
    public var linesRead = 0
    /// Lines whose events were recorded.
    public var imported = 0
    /// Lines that changed nothing: messages already recorded with identical content, repeated statuses and controls.
    public var duplicates = 0
    /// Blank lines, dump headers, and webhook deliveries with nothing to record.
    public var skipped = 0
    /// Lines rejected (kept in the rejects file).
    public var rejected = 0
    /// Parts of webhook deliveries skipped (other fields, other message shapes), not errors.
    public var webhookPartsSkipped = 0
    /// Bytes read in this run.
    public var bytesRead = 0
    /// The line after which this run resumed (0: from the start).
    public var resumedAfterLine = 0
    /// Whether the import stopped early (`strict` or `maxRejects`).
    public var stoppedEarly = false
    /// Where rejected lines went, if any were.
    public var rejectsPath: String?
    /// Seconds the run took.
    public var elapsed: Double = 0
}

/// Streams dumps into a store, many lines per commit. Each rejected line is reported as
/// `file:line: reason` and kept, unchanged, in the rejects file. A checkpoint (how far, and how long
/// the rejects file was) is written in the same transaction as the lines it covers, so an import
/// killed at any moment and run again ends exactly as one uninterrupted import.
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

    /// One input line on its way into the store.
    private struct Pending: @unchecked Sendable {
        // @unchecked: handed from the parser thread to the writer through BatchQueue, never shared.
        enum Content {
            case items([WebhookItem])
            case reject(String)
            case skip
        }
        var line: Int
        var text: [UInt8]
        /// Byte offset just after the line.
        var end: Int
        var content: Content
        var partsSkipped = 0
    }

    private enum LineOutcome {
        case imported, duplicate, skipped, rejected(String)
    }

    /// Imports one file (`-` for standard input, which cannot resume).
    public func importFile(_ path: String) throws -> ImportSummary {
        let started = Self.now()
        let isStdin = path == "-"
        let fd: Int32 = isStdin ? 0 : open(path, O_RDONLY)
        guard fd >= 0 else {
            throw ConvoStoreError.invalidField(field: "FILE", reason: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { if !isStdin { close(fd) } }
        let name = isStdin ? "stdin" : path
        var info = stat()
        let totalBytes = fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG ? Int(info.st_size) : nil

        var summary = ImportSummary()
        let rejectsPath = self.options.rejectsPath ?? "\(name).rejects"
        let rejects = RejectsFile(path: rejectsPath)
        defer { rejects.close() }

        // Resume from a checkpoint of this very file, if one matches.
        let checkpointKey: [UInt8]? = isStdin ? nil : Array("import:\(Self.canonical(path))".utf8)
        var position = Checkpoint(offset: 0, line: 0, rejectsLength: self.options.appendRejects ? rejects.currentLength() : 0, fingerprint: 0)
        if let checkpointKey {
            if self.options.resume, let saved = try self.store.checkpoint(checkpointKey) {
                if saved.fingerprint == Self.fingerprint(fd: fd, upTo: saved.offset), totalBytes.map({ $0 >= saved.offset }) ?? true {
                    position = saved
                    summary.resumedAfterLine = saved.line
                    if lseek(fd, off_t(saved.offset), SEEK_SET) < 0 {
                        throw ConvoStoreError.invalidField(field: "FILE", reason: "cannot seek in \(path)")
                    }
                } else {
                    self.report("\(name): the checkpoint of an earlier import does not match this file; importing from the start")
                }
            }
        }
        var rejectsLength = position.rejectsLength

        var batch: [Pending] = []
        func flush() throws {
            guard !batch.isEmpty else { return }
            let strict = self.options.strict
            let maxRejects = self.options.maxRejects
            let rejectsSoFar = summary.rejected
            let startLength = rejectsLength
            let (outcomes, newLength) = try self.store.write { writer -> ([LineOutcome], Int) in
                // This body may run again (map growth): the rejects file goes back to where it was.
                try rejects.truncate(to: startLength)
                var outcomes: [LineOutcome] = []
                outcomes.reserveCapacity(batch.count)
                var rejected = rejectsSoFar
                for pending in batch {
                    let outcome = try Self.apply(pending, writer: writer)
                    if case .rejected = outcome {
                        try rejects.append(pending.text)
                        rejected += 1
                    }
                    outcomes.append(outcome)
                    if case .rejected = outcome, strict || maxRejects.map({ rejected >= $0 }) == true { break }
                }
                let length = try rejects.sync()
                if let checkpointKey {
                    let last = batch[outcomes.count - 1]
                    try writer.recorder.saveCheckpoint(
                        checkpointKey,
                        Checkpoint(offset: last.end, line: last.line, rejectsLength: length, fingerprint: Self.fingerprint(fd: fd, upTo: last.end)))
                }
                return (outcomes, length)
            }
            rejectsLength = newLength
            for (pending, outcome) in zip(batch, outcomes) {
                summary.webhookPartsSkipped += pending.partsSkipped
                switch outcome {
                case .imported: summary.imported += 1
                case .duplicate: summary.duplicates += 1
                case .skipped: summary.skipped += 1
                case .rejected(let reason):
                    summary.rejected += 1
                    self.report("\(name):\(pending.line): \(reason)")
                }
            }
            if outcomes.count < batch.count || (self.options.strict && summary.rejected > 0)
                || self.options.maxRejects.map({ summary.rejected >= $0 }) == true {
                summary.stoppedEarly = true
            }
            batch.removeAll(keepingCapacity: true)
        }

        // Parsing overlaps writing: a parser thread fills batches (at most two waiting, so memory
        // stays flat) while this thread commits them.
        let queue = BatchQueue<Pending>(capacity: 2)
        let parser = Thread { [options = self.options, position] in
            defer { queue.markProducerDone() }
            var reader = LineReader(fd: fd, maxLineBytes: options.maxLineBytes, startOffset: position.offset)
            var lineNumber = position.line
            var batch: [Pending] = []
            batch.reserveCapacity(options.linesPerCommit)
            do {
                while let line = try reader.next() {
                    lineNumber += 1
                    switch line {
                    case .tooLong(let prefix):
                        batch.append(Pending(
                            line: lineNumber, text: prefix, end: reader.offset,
                            content: .reject("line longer than \(options.maxLineBytes) bytes (its first \(prefix.count) bytes are kept in the rejects file)")))
                    case .line(let bytes):
                        var pending = Pending(line: lineNumber, text: bytes, end: reader.offset, content: .skip)
                        Self.parse(&pending, format: options.format)
                        batch.append(pending)
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
        // Runs before the file is closed: the parser must be gone before its descriptor is.
        defer { queue.stopProducer() }

        var lastProgress = started
        var bytesDone = position.offset
        reading: while !summary.stoppedEarly {
            switch queue.take() {
            case .end: break reading
            case .failed(let error): throw error
            case .batch(let lines):
                batch = lines
                summary.linesRead += lines.count
                bytesDone = lines.last?.end ?? bytesDone
                try flush()
                if let progress = self.options.progress {
                    let now = Self.now()
                    if now - lastProgress >= 0.25 {
                        lastProgress = now
                        progress(ImportProgress(bytesRead: bytesDone, totalBytes: totalBytes, linesRead: summary.linesRead, rejected: summary.rejected, elapsed: now - started))
                    }
                }
            }
        }
        if summary.stoppedEarly {
            // Lines after the stop were read but not taken: count only what was applied.
            summary.linesRead = summary.imported + summary.duplicates + summary.skipped + summary.rejected
        }
        summary.bytesRead = bytesDone - position.offset
        summary.rejectsPath = summary.rejected > 0 || rejectsLength > 0 ? rejectsPath : nil
        summary.elapsed = Self.now() - started
        return summary
    }

    private static func parse(_ pending: inout Pending, format: DumpFormat) {
        let bytes = pending.text
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }  // blank: skipped
        switch format {
        case .native:
            pending.content = bytes.withUnsafeBytes { raw -> Pending.Content in
                do throws(DumpLineError) {
                    switch try NativeDump.parse(raw) {
                    case .header: return .skip
                    case .event(let event): return .items([.event(event)])
                    }
                } catch {
                    return .reject(error.reason)
                }
            }
        case .webhook:
            pending.content = bytes.withUnsafeBytes { raw -> Pending.Content in
                do throws(DumpLineError) {
                    let delivery = try WebhookArchive.parse(raw)
                    pending.partsSkipped = delivery.skipped
                    return delivery.items.isEmpty ? .skip : .items(delivery.items)
                } catch {
                    return .reject(error.reason)
                }
            }
        }
    }

    private static func apply(_ pending: Pending, writer: StoreWriter) throws -> LineOutcome {
        switch pending.content {
        case .skip: return .skipped
        case .reject(let reason): return .rejected(reason)
        case .items(let items):
            var recorded = 0
            for item in items {
                let result: RecordResult
                switch item {
                case .event(let event): result = try writer.record(event)
                case .outboundStatus(let status, let implied): result = try writer.recordOutboundStatus(status, impliedMessage: implied)
                }
                switch result {
                case .recorded: recorded += 1
                case .duplicate: break
                case .rejected(let error): return .rejected(error.description)
                }
            }
            return recorded > 0 ? .imported : .duplicate
        }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    private static func canonical(_ path: String) -> String {
        guard let resolved = realpath(path, nil) else { return path }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// A hash of the file's first bytes up to `offset` (at most 64 KiB), so a checkpoint is used only
    /// for the file it was made for.
    static func fingerprint(fd: Int32, upTo offset: Int) -> UInt64 {
        let n = min(offset, 64 << 10)
        var bytes = [UInt8](repeating: 0, count: n)
        let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, n, 0) }
        guard got == n else { return 0 }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }
}

/// A bounded blocking queue between the parser thread and the writer.
final class BatchQueue<Element>: @unchecked Sendable {
    // @unchecked: every field is touched only under `condition`.
    enum Item {
        case batch([Element])
        case end
        case failed(any Error)
    }

    private let condition = NSCondition()
    private var items: [Item] = []
    private var cancelled = false
    private var producerDone = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Waits for room; `false` if the consumer cancelled.
    func put(_ item: Item) -> Bool {
        self.condition.lock()
        defer { self.condition.unlock() }
        while self.items.count >= self.capacity && !self.cancelled { self.condition.wait() }
        guard !self.cancelled else { return false }
        self.items.append(item)
        self.condition.broadcast()
        return true
    }

    func take() -> Item {
        self.condition.lock()
        defer { self.condition.unlock() }
        while self.items.isEmpty { self.condition.wait() }
        let item = self.items.removeFirst()
        self.condition.broadcast()
        return item
    }

    func cancel() {
        self.condition.lock()
        self.cancelled = true
        self.condition.broadcast()
        self.condition.unlock()
    }

    /// The producer calls this as it leaves.
    func markProducerDone() {
        self.condition.lock()
        self.producerDone = true
        self.condition.broadcast()
        self.condition.unlock()
    }

    /// Cancels and waits until the producer has left (it stops at its next `put`).
    func stopProducer() {
        self.cancel()
        self.condition.lock()
        while !self.producerDone { self.condition.wait() }
        self.condition.unlock()
    }
}

/// The rejects file, opened on the first reject; its length is part of the checkpoint.
final class RejectsFile: @unchecked Sendable {
    // @unchecked: used by one import on one thread.
    let path: String
    private var fd: Int32 = -1

    init(path: String) { self.path = path }

    func currentLength() -> Int {
        var info = stat()
        return stat(self.path, &info) == 0 ? Int(info.st_size) : 0
    }

    private func openIfNeeded() throws {
        guard self.fd < 0 else { return }
        self.fd = open(self.path, O_WRONLY | O_CREAT, 0o600)  // rejected lines hold message bodies
        guard self.fd >= 0 else {
            throw ConvoStoreError.invalidField(field: "--rejects", reason: "cannot write \(self.path): \(String(cString: strerror(errno)))")
        }
    }

    func truncate(to length: Int) throws {
        if self.fd < 0 && (length == 0 && self.currentLength() == 0) { return }
        try self.openIfNeeded()
        guard ftruncate(self.fd, off_t(length)) == 0, lseek(self.fd, off_t(length), SEEK_SET) >= 0 else {
            throw ConvoStoreError.invalidField(field: "--rejects", reason: "cannot truncate \(self.path): \(String(cString: strerror(errno)))")
        }
    }

    func append(_ line: [UInt8]) throws {
        try self.openIfNeeded()
        let data = line + [0x0A]
        let written = data.withUnsafeBytes { write(self.fd, $0.baseAddress, $0.count) }
        guard written == data.count else {
            throw ConvoStoreError.invalidField(field: "--rejects", reason: "cannot write \(self.path): \(String(cString: strerror(errno)))")
        }
    }

    /// Flushes to disk (before the checkpoint that counts these lines commits) and returns the length.
    func sync() throws -> Int {
        guard self.fd >= 0 else { return 0 }
        fsync(self.fd)
        return Int(lseek(self.fd, 0, SEEK_CUR))
    }

    func close() {
        if self.fd >= 0 { Glibc.close(self.fd) }
        self.fd = -1
    }
}

/// How far an import of one file got.
struct Checkpoint: Equatable {
    var offset: Int
    var line: Int
    var rejectsLength: Int
    var fingerprint: UInt64

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 32)
        w.u64(UInt64(self.offset))
        w.u64(UInt64(self.line))
        w.u64(UInt64(self.rejectsLength))
        w.u64(self.fingerprint)
        return w.bytes
    }

    init(offset: Int, line: Int, rejectsLength: Int, fingerprint: UInt64) {
        self.offset = offset
        self.line = line
        self.rejectsLength = rejectsLength
        self.fingerprint = fingerprint
    }

    init(decoding buffer: UnsafeRawBufferPointer) throws(ConvoStoreError) {
        var r = ByteReader(buffer, database: "checkpoints")
        func count(_ value: UInt64, _ field: String) throws(ConvoStoreError) -> Int {
            guard let n = Int(exactly: value) else { throw .corruptRecord(database: "checkpoints", detail: "\(field) \(value) is out of range") }
            return n
        }
        self.offset = try count(try r.u64(), "offset")
        self.line = try count(try r.u64(), "line")
        self.rejectsLength = try count(try r.u64(), "rejects length")
        self.fingerprint = try r.u64()
        try r.expectEnd()
    }
}

extension ConvoStore {
    func checkpoint(_ key: [UInt8]) throws -> Checkpoint? {
        try self.environment.read { txn in
            try txn.get(self.databases.checkpoints, key: key).map { try Checkpoint(decoding: $0) }
        }
    }
}

extension Recorder {
    func saveCheckpoint(_ key: [UInt8], _ checkpoint: Checkpoint) throws {
        try self.txn.put(self.db.checkpoints, key: key, value: checkpoint.encoded())
    }
}

/// Reads lines from a file descriptor with a bounded buffer.
struct LineReader {
    enum Line {
        case line([UInt8])
        /// A line over the limit: its first bytes; the rest was skipped.
        case tooLong([UInt8])
    }

    private let fd: Int32
    private let maxLineBytes: Int
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var eof = false
    /// The input offset just after the last line returned.
    private(set) var offset: Int
    private var readOffset: Int

    init(fd: Int32, maxLineBytes: Int, startOffset: Int = 0) {
        self.fd = fd
        self.maxLineBytes = maxLineBytes
        self.offset = startOffset
        self.readOffset = startOffset
        self.buffer = [UInt8](repeating: 0, count: max(1 << 16, min(maxLineBytes, 1 << 20)) * 2)
    }

    private mutating func fill() throws -> Bool {
        if self.start > 0 {
            // Slide the unread part to the front.
            let count = self.end - self.start
            let from = self.start
            self.buffer.withUnsafeMutableBytes { raw in _ = memmove(raw.baseAddress!, raw.baseAddress! + from, count) }
            self.start = 0
            self.end = count
        }
        if self.end == self.buffer.count { self.buffer.append(contentsOf: [UInt8](repeating: 0, count: self.buffer.count)) }
        while true {
            let end = self.end
            let n = self.buffer.withUnsafeMutableBytes { raw in read(self.fd, raw.baseAddress! + end, raw.count - end) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw ConvoStoreError.invalidField(field: "FILE", reason: "read failed: \(String(cString: strerror(errno)))") }
            if n == 0 { self.eof = true; return false }
            self.end += n
            self.readOffset += n
            return true
        }
    }

    private mutating func consume(to next: Int) {
        self.offset = self.readOffset - (self.end - next)
        self.start = next
    }

    mutating func next() throws -> Line? {
        var scanned = 0  // bytes after `start` known to hold no newline
        while true {
            if let nl = self.buffer[(self.start + scanned)..<self.end].firstIndex(of: 0x0A) {
                let line = Array(self.buffer[self.start..<nl])
                self.consume(to: nl + 1)
                return line.count > self.maxLineBytes ? .tooLong(Array(line.prefix(self.maxLineBytes))) : .line(line)
            }
            scanned = self.end - self.start
            if scanned > self.maxLineBytes {
                // Over the limit: keep the first bytes, skip to the end of the line without buffering it.
                let prefix = Array(self.buffer[self.start..<(self.start + self.maxLineBytes)])
                while true {
                    self.consume(to: self.end)
                    guard try self.fill() else { return .tooLong(prefix) }
                    if let nl = self.buffer[self.start..<self.end].firstIndex(of: 0x0A) {
                        self.consume(to: nl + 1)
                        return .tooLong(prefix)
                    }
                }
            }
            if self.eof {
                guard self.start < self.end else { return nil }
                let line = Array(self.buffer[self.start..<self.end])
                self.consume(to: self.end)
                return .line(line)
            }
            _ = try self.fill()  // slides the unread bytes to the front: `start` becomes 0
        }
    }
}
