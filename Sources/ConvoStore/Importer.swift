import Foundation

/// How an import treats its input.
public struct ImportOptions: Sendable {
    /// Where rejected lines go, unchanged; default `<dump>.rejects` (`stdin.rejects` for `-`).
    public var rejectsPath: String?
    /// Stop at the first rejected line (the lines before it are committed, nothing of it).
    public var strict = false
    /// Stop after this many rejected lines.
    public var maxRejects: Int?
    /// Events per commit.
    public var eventsPerCommit = 5_000
    /// Lines longer than this are rejected without being buffered whole.
    public var maxLineBytes = 1 << 20

    /// The defaults.
    public init() {}
}

/// What an import did; `imported + duplicates + skipped + rejected == linesRead`.
public struct ImportSummary: Sendable, Hashable {
    /// Lines read (including blank ones).
    public var linesRead = 0
    /// Events recorded.
    public var imported = 0
    /// Messages already recorded with identical content, and statuses that changed nothing.
    public var duplicates = 0
    /// Blank lines and dump headers.
    public var skipped = 0
    /// Lines rejected (written to the rejects file).
    public var rejected = 0
    /// Bytes read.
    public var bytesRead = 0
    /// Whether the import stopped early (`strict` or `maxRejects`).
    public var stoppedEarly = false
    /// Where rejected lines went, if any were.
    public var rejectsPath: String?
}

/// Streams native dumps into a store, many events per commit; reports each rejected line as
/// `file:line: reason` and keeps it, unchanged, in the rejects file.
public final class DumpImporter {
    private let store: ConvoStore
    private let options: ImportOptions
    private let report: (String) -> Void

    /// Makes an importer; `report` receives one `file:line: reason` per rejected line.
    public init(store: ConvoStore, options: ImportOptions = .init(), report: @escaping (String) -> Void) {
        self.store = store
        self.options = options
        self.report = report
    }

    private struct Pending {
        var event: Event
        var line: Int
        var text: [UInt8]
    }

    /// Imports one file (`-` for standard input).
    public func importFile(_ path: String) throws -> ImportSummary {
        let fd: Int32 = path == "-" ? 0 : open(path, O_RDONLY)
        guard fd >= 0 else {
            throw ConvoStoreError.invalidField(field: "FILE", reason: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { if fd != 0 { close(fd) } }
        let name = path == "-" ? "stdin" : path
        var summary = ImportSummary()
        summary.rejectsPath = self.options.rejectsPath ?? "\(path == "-" ? "stdin" : path).rejects"
        var rejects: FileHandle?
        defer { try? rejects?.close() }

        func reject(_ line: Int, _ text: [UInt8], _ reason: String) throws {
            summary.rejected += 1
            self.report("\(name):\(line): \(reason)")
            if rejects == nil {
                let rejectsPath = summary.rejectsPath!
                guard FileManager.default.createFile(atPath: rejectsPath, contents: nil) else {
                    throw ConvoStoreError.invalidField(field: "--rejects", reason: "cannot create \(rejectsPath)")
                }
                rejects = FileHandle(forWritingAtPath: rejectsPath)
            }
            rejects?.write(Data(text + [0x0A]))
            if self.options.strict || self.options.maxRejects.map({ summary.rejected >= $0 }) == true {
                summary.stoppedEarly = true
            }
        }

        var batch: [Pending] = []
        func flush() throws {
            guard !batch.isEmpty else { return }
            let strict = self.options.strict
            let results = try self.store.write { writer -> [RecordResult] in
                var results: [RecordResult] = []
                results.reserveCapacity(batch.count)
                for pending in batch {
                    let result = try writer.record(pending.event)
                    results.append(result)
                    // Strict: commit what came before the first rejected line, nothing after it.
                    if strict, case .rejected = result { break }
                }
                return results
            }
            for (pending, result) in zip(batch, results) {
                switch result {
                case .recorded: summary.imported += 1
                case .duplicate: summary.duplicates += 1
                case .rejected(let error): try reject(pending.line, pending.text, error.description)
                }
            }
            batch.removeAll(keepingCapacity: true)
        }

        var reader = LineReader(fd: fd, maxLineBytes: self.options.maxLineBytes)
        while !summary.stoppedEarly, let line = try reader.next() {
            summary.linesRead += 1
            summary.bytesRead = reader.bytesRead
            switch line {
            case .tooLong(let prefix):
                try flush()
                try reject(summary.linesRead, prefix, "line longer than \(self.options.maxLineBytes) bytes (the first \(prefix.count) bytes are kept in the rejects file)")
            case .line(let bytes):
                if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                    summary.skipped += 1
                    continue
                }
                let parsed = bytes.withUnsafeBytes { raw in Result { () throws(DumpLineError) -> DumpLine in try NativeDump.parse(raw) } }
                switch parsed {
                case .success(.header):
                    summary.skipped += 1
                case .success(.event(let event)):
                    batch.append(Pending(event: event, line: summary.linesRead, text: bytes))
                    if batch.count >= self.options.eventsPerCommit { try flush() }
                case .failure(let error):
                    // Keep order in strict mode: what came before is committed first.
                    if self.options.strict { try flush() }
                    try reject(summary.linesRead, bytes, error.reason)
                }
            }
        }
        if !summary.stoppedEarly || self.options.strict { try flush() }
        summary.bytesRead = reader.bytesRead
        if rejects == nil { summary.rejectsPath = nil }
        return summary
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
    private(set) var bytesRead = 0

    init(fd: Int32, maxLineBytes: Int) {
        self.fd = fd
        self.maxLineBytes = maxLineBytes
        self.buffer = [UInt8](repeating: 0, count: max(1 << 16, min(maxLineBytes, 1 << 20)) * 2)
    }

    private mutating func fill() throws -> Bool {
        if self.start > 0 {
            // Slide the unread part to the front.
            let count = self.end - self.start
            self.buffer.withUnsafeMutableBytes { raw in
                _ = memmove(raw.baseAddress!, raw.baseAddress! + self.start, count)
            }
            self.start = 0
            self.end = count
        }
        if self.end == self.buffer.count { self.buffer.append(contentsOf: [UInt8](repeating: 0, count: self.buffer.count)) }
        let n = self.buffer.withUnsafeMutableBytes { raw in read(self.fd, raw.baseAddress! + self.end, raw.count - self.end) }
        if n < 0 {
            if errno == EINTR { return true }
            throw ConvoStoreError.invalidField(field: "FILE", reason: "read failed: \(String(cString: strerror(errno)))")
        }
        if n == 0 { self.eof = true; return false }
        self.end += n
        self.bytesRead += n
        return true
    }

    mutating func next() throws -> Line? {
        var scanned = 0  // bytes after `start` known to hold no newline
        while true {
            if let nl = self.buffer[(self.start + scanned)..<self.end].firstIndex(of: 0x0A) {
                let line = Array(self.buffer[self.start..<nl])
                self.start = nl + 1
                return line.count > self.maxLineBytes ? .tooLong(Array(line.prefix(self.maxLineBytes))) : .line(line)
            }
            scanned = self.end - self.start
            if scanned > self.maxLineBytes {
                // Over the limit: keep the first bytes, skip to the end of the line without buffering it.
                let prefix = Array(self.buffer[self.start..<(self.start + self.maxLineBytes)])
                while true {
                    self.start = self.end
                    guard try self.fill() else { return .tooLong(prefix) }
                    if let nl = self.buffer[self.start..<self.end].firstIndex(of: 0x0A) {
                        self.start = nl + 1
                        return .tooLong(prefix)
                    }
                }
            }
            if self.eof {
                guard self.start < self.end else { return nil }
                let line = Array(self.buffer[self.start..<self.end])
                self.start = self.end
                return .line(line)
            }
            _ = try self.fill()  // slides the unread bytes to the front: `start` becomes 0
        }
    }
}
