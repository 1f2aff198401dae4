import Foundation

/// Reads lines from a file descriptor with a bounded buffer.
struct LineReader {
    enum Line {
        case line([UInt8])
        /// A line over the limit: its first bytes; the rest was skipped.
        case tooLong([UInt8])
    }

    private let file: SystemFile
    private let maxLineBytes: Int
    private var buffer: [UInt8]
    private var start = 0
    private var end = 0
    private var eof = false
    /// The input offset just after the last line returned.
    private(set) var offset: Int
    private var readOffset: Int

    init(file: SystemFile, maxLineBytes: Int, startOffset: Int = 0) {
        self.file = file
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
        let end = self.end
        let n = try self.buffer.withUnsafeMutableBytes { (raw) throws(ConvoStoreError) in
            try self.file.read(into: raw.baseAddress! + end, count: raw.count - end)
        }
        if n == 0 {
            self.eof = true
            return false
        }
        self.end += n
        self.readOffset += n
        return true
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
