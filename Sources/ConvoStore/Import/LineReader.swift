#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Reads lines from a file with a bounded buffer, and hashes every byte it consumes, so that a
/// checkpoint can prove which bytes it covers (``PrefixHash``).
struct LineReader {
    enum Line {
        /// A line without its newline (a trailing `\r` is kept: the line is kept unchanged).
        case line([UInt8])
        /// A line over the limit, copied whole to `spill` at `offset` without being buffered whole.
        case tooLong(spill: SpillFile, offset: Int, length: Int)
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
    /// The hash of the input's bytes up to `offset`.
    private(set) var hash: PrefixHash
    /// Where over-long lines of the current batch go; a new one after ``takeSpill()``.
    private var spill: SpillFile?

    /// A UTF-8 byte order mark, skipped at the start of an input.
    static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// Reads `file` from `startOffset`, where the hash of the bytes before it is `hash`.
    init(file: SystemFile, maxLineBytes: Int, startOffset: Int = 0, hash: PrefixHash = PrefixHash()) {
        self.file = file
        self.maxLineBytes = maxLineBytes
        self.offset = startOffset
        self.readOffset = startOffset
        self.hash = hash
        self.buffer = [UInt8](repeating: 0, count: max(1 << 16, min(maxLineBytes, 1 << 20)) * 2)
    }

    /// The spill file the lines returned so far were copied to, if any; later ones go to a new one.
    mutating func takeSpill() -> SpillFile? {
        defer { self.spill = nil }
        return self.spill
    }

    private mutating func fill() throws(ConvoStoreError) -> Bool {
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
        let result = self.buffer.withUnsafeMutableBytes { raw in
            Result { () throws(ConvoStoreError) in try self.file.read(into: raw.baseAddress! + end, count: raw.count - end) }
        }
        let n = try result.get()
        if n == 0 {
            self.eof = true
            return false
        }
        self.end += n
        self.readOffset += n
        return true
    }

    /// Moves past the buffered bytes before `next`, hashing them.
    private mutating func consume(to next: Int) {
        self.buffer.withUnsafeBytes { raw in self.hash.add(UnsafeRawBufferPointer(rebasing: raw[self.start..<next])) }
        self.offset = self.readOffset - (self.end - next)
        self.start = next
    }

    /// The length of a line's content: without a trailing `\r`, so that a line of exactly the limit
    /// is accepted with `\r\n` as with `\n`.
    private static func contentLength(_ line: ArraySlice<UInt8>) -> Int {
        line.last == 0x0D ? line.count - 1 : line.count
    }

    mutating func next() throws(ConvoStoreError) -> Line? {
        if self.offset == 0 && self.readOffset == 0 {
            // A byte order mark at the very start is not part of the first line.
            while self.end < Self.byteOrderMark.count, try self.fill() {}
            if self.buffer.prefix(min(self.end, 3)).elementsEqual(Self.byteOrderMark) { self.consume(to: 3) }
        }
        var scanned = 0  // bytes after `start` known to hold no newline
        while true {
            if let nl = self.buffer[(self.start + scanned)..<self.end].firstIndex(of: 0x0A) {
                let line = self.buffer[self.start..<nl]
                if Self.contentLength(line) > self.maxLineBytes {
                    return try self.spillLine(upTo: nl + 1)
                }
                let bytes = Array(line)
                self.consume(to: nl + 1)
                return .line(bytes)
            }
            scanned = self.end - self.start
            if scanned > self.maxLineBytes + 1 {  // + 1: room for the `\r` of a `\r\n`
                return try self.spillLine(upTo: nil)
            }
            if self.eof {
                guard self.start < self.end else { return nil }
                let line = self.buffer[self.start..<self.end]
                if Self.contentLength(line) > self.maxLineBytes { return try self.spillLine(upTo: self.end) }
                let bytes = Array(line)
                self.consume(to: self.end)
                return .line(bytes)
            }
            _ = try self.fill()  // slides the unread bytes to the front: `start` becomes 0
        }
    }

    /// Copies an over-long line, whole, to the spill file, streaming it: `through` is the index just
    /// past its newline when it is in the buffer, nil when it goes on past it.
    private mutating func spillLine(upTo through: Int?) throws(ConvoStoreError) -> Line {
        let spill: SpillFile
        if let current = self.spill {
            spill = current
        } else {
            spill = try SpillFile()
            self.spill = spill
        }
        let offset = spill.length
        if let through {
            let hasNewline = through > self.start && self.buffer[through - 1] == 0x0A
            try spill.append(self.buffer[self.start..<(hasNewline ? through - 1 : through)])
            self.consume(to: through)
            return .tooLong(spill: spill, offset: offset, length: spill.length - offset)
        }
        while true {
            if let nl = self.buffer[self.start..<self.end].firstIndex(of: 0x0A) {
                try spill.append(self.buffer[self.start..<nl])
                self.consume(to: nl + 1)
                break
            }
            try spill.append(self.buffer[self.start..<self.end])
            self.consume(to: self.end)
            guard try self.fill() else { break }
        }
        return .tooLong(spill: spill, offset: offset, length: spill.length - offset)
    }
}

/// A hash of every byte of an input from its start (64-bit FNV-1a), so that a checkpoint proves the
/// bytes it covers: a resumed import goes on only if the file still begins with exactly those bytes.
/// Not cryptographic: it guards against a regenerated or edited file, not an adversary who forges one.
struct PrefixHash: Equatable {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    init() {}

    init(value: UInt64) { self.value = value }

    mutating func add(_ bytes: UnsafeRawBufferPointer) {
        var h = self.value
        for byte in bytes { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        self.value = h
    }

    /// The hash of the first `count` bytes of `file`, or nil if it is shorter.
    static func of(_ file: SystemFile, upTo count: Int) throws(ConvoStoreError) -> PrefixHash? {
        var hash = PrefixHash()
        var done = 0
        let chunk = 1 << 20
        while done < count {
            let bytes = try file.read(count: min(chunk, count - done), at: done)
            if bytes.isEmpty { return nil }
            bytes.withUnsafeBytes { hash.add($0) }
            done += bytes.count
        }
        return hash
    }
}

/// An unnamed temporary file holding the over-long lines of one batch, until the committing thread
/// copies them to the rejects file; it disappears when the last reference goes.
final class SpillFile: @unchecked Sendable {
    // @unchecked: appended to by the parser thread before its batch is handed over, then only read.
    let file: SystemFile
    private(set) var length = 0

    init() throws(ConvoStoreError) {
        self.file = try SystemFile.anonymousTemporary()
    }

    func append(_ bytes: ArraySlice<UInt8>) throws(ConvoStoreError) {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(ConvoStoreError) in try self.file.write(raw) } }
        try result.get()
        self.length += bytes.count
    }
}
