import LMDB

/// Appends fields to a record or key. Integers are big-endian (byte order is numeric order).
struct ByteWriter {
    var bytes: [UInt8]

    init(capacity: Int = 64) {
        self.bytes = []
        self.bytes.reserveCapacity(capacity)
    }

    @inline(__always) mutating func u8(_ v: UInt8) { self.bytes.append(v) }
    @inline(__always) mutating func u32(_ v: UInt32) { BigEndian.append(v, to: &self.bytes) }
    @inline(__always) mutating func u64(_ v: UInt64) { BigEndian.append(v, to: &self.bytes) }
    /// A time: non-negative epoch milliseconds, big-endian.
    @inline(__always) mutating func time(_ v: Int64) { BigEndian.append(UInt64(bitPattern: v), to: &self.bytes) }
    /// An optional time; `nil` is stored as all ones (never a valid time).
    @inline(__always) mutating func optionalTime(_ v: Int64?) { self.time(v ?? -1) }
    /// A byte string with a 1-byte length (at most 255 bytes).
    mutating func short(_ v: [UInt8]) {
        precondition(v.count <= 255, "short field over 255 bytes")
        self.bytes.append(UInt8(v.count))
        self.bytes.append(contentsOf: v)
    }
    /// A byte string with a 4-byte length.
    mutating func long(_ v: [UInt8]) {
        self.u32(UInt32(v.count))
        self.bytes.append(contentsOf: v)
    }
    /// A byte string that keeps its byte order inside a composite key: 0x00 becomes 0x00 0xFF and the
    /// string ends with 0x00 0x00, so (a, b) pairs sort as a first, then b.
    mutating func ordered(_ v: [UInt8]) {
        for byte in v {
            self.bytes.append(byte)
            if byte == 0 { self.bytes.append(0xFF) }
        }
        self.bytes.append(0)
        self.bytes.append(0)
    }
    mutating func raw(_ v: [UInt8]) { self.bytes.append(contentsOf: v) }
}

/// An ordered id found in a key (``ByteReader/orderedID()``): its bytes, escapes included, and
/// whether any 0x00 in it is escaped (as 0x00 0xFF).
struct OrderedID {
    let range: Range<Int>
    let escaped: Bool
}

/// Reads fields from a record or key borrowed from the map; every read is bounds-checked, so damaged
/// bytes give a ``ConvoStoreError/corruptRecord(database:detail:)`` instead of a crash.
struct ByteReader {
    let buffer: UnsafeRawBufferPointer
    var offset = 0
    let database: String

    init(_ buffer: UnsafeRawBufferPointer, database: String) {
        self.buffer = buffer
        self.database = database
    }

    var isAtEnd: Bool { self.offset == self.buffer.count }

    @inline(__always) private mutating func need(_ n: Int) throws(ConvoStoreError) {
        guard n >= 0, self.offset + n <= self.buffer.count else {
            throw .corruptRecord(database: self.database, detail: "record ends at byte \(self.buffer.count), needed \(self.offset + n)")
        }
    }

    @inline(__always) mutating func u8() throws(ConvoStoreError) -> UInt8 {
        try self.need(1)
        defer { self.offset += 1 }
        return self.buffer[self.offset]
    }

    @inline(__always) mutating func u32() throws(ConvoStoreError) -> UInt32 {
        try self.need(4)
        defer { self.offset += 4 }
        return BigEndian.read(UInt32.self, from: self.buffer, at: self.offset)
    }

    @inline(__always) mutating func u64() throws(ConvoStoreError) -> UInt64 {
        try self.need(8)
        defer { self.offset += 8 }
        return BigEndian.read(UInt64.self, from: self.buffer, at: self.offset)
    }

    @inline(__always) mutating func time() throws(ConvoStoreError) -> Int64 { Int64(bitPattern: try self.u64()) }

    @inline(__always) mutating func optionalTime() throws(ConvoStoreError) -> Int64? {
        let v = try self.time()
        return v < 0 ? nil : v
    }

    mutating func bytes(_ n: Int) throws(ConvoStoreError) -> [UInt8] {
        try self.need(n)
        defer { self.offset += n }
        return Array(UnsafeRawBufferPointer(rebasing: self.buffer[self.offset..<self.offset + n]))
    }

    mutating func short() throws(ConvoStoreError) -> [UInt8] { try self.bytes(Int(try self.u8())) }
    mutating func long() throws(ConvoStoreError) -> [UInt8] { try self.bytes(Int(try self.u32())) }

    /// An ordered id's bytes, unescaped.
    mutating func ordered() throws(ConvoStoreError) -> [UInt8] {
        Self.bytes(of: try self.orderedID(), in: self.buffer)
    }

    /// An ordered id as a String, made straight from the mapped bytes when it holds no escaped 0x00.
    mutating func orderedString() throws(ConvoStoreError) -> String {
        Self.string(of: try self.orderedID(), in: self.buffer)
    }

    /// Where an ordered id lies (escapes included, terminator not), without copying it; the reader
    /// moves past its terminator.
    ///
    /// The scans find two of these per entry, so the search for the terminator works on the raw
    /// pointer, held in locals (callgrind: 200 instructions per 15-byte id through `self.buffer[i]`).
    mutating func orderedID() throws(ConvoStoreError) -> OrderedID {
        let start = self.offset
        guard let base = self.buffer.baseAddress else {
            throw .corruptRecord(database: self.database, detail: "empty key where an id was expected")
        }
        let last = self.buffer.count - 1  // the terminator's second byte must fit
        var i = start
        var escaped = false
        while i < last {
            guard base.load(fromByteOffset: i, as: UInt8.self) == 0 else {
                i += 1
                continue
            }
            switch base.load(fromByteOffset: i + 1, as: UInt8.self) {
            case 0:
                self.offset = i + 2
                return OrderedID(range: start..<i, escaped: escaped)
            case 0xFF:
                escaped = true
                i += 2
            default:
                throw .corruptRecord(database: self.database, detail: "bad escape in key at byte \(i + 1)")
            }
        }
        throw .corruptRecord(database: self.database, detail: "key ends at byte \(self.buffer.count) inside an id")
    }

    /// The String of an id `orderedID()` found in `buffer`.
    static func string(of id: OrderedID, in buffer: UnsafeRawBufferPointer) -> String {
        guard id.escaped else { return String(decoding: UnsafeRawBufferPointer(rebasing: buffer[id.range]), as: UTF8.self) }
        return String(decoding: Self.bytes(of: id, in: buffer), as: UTF8.self)
    }

    /// The unescaped bytes of an id `orderedID()` found (and checked) in `buffer`.
    static func bytes(of id: OrderedID, in buffer: UnsafeRawBufferPointer) -> [UInt8] {
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[id.range])
        guard id.escaped else { return Array(bytes) }
        var unescaped: [UInt8] = []
        unescaped.reserveCapacity(bytes.count)
        var skip = false
        for byte in bytes {
            if skip {
                skip = false  // the 0xFF after an escaped 0x00
                continue
            }
            unescaped.append(byte)
            skip = byte == 0
        }
        return unescaped
    }

    func expectEnd() throws(ConvoStoreError) {
        guard self.isAtEnd else {
            throw .corruptRecord(database: self.database, detail: "\(self.buffer.count - self.offset) unexpected trailing bytes")
        }
    }
}

extension Array where Element == UInt8 {
    init(utf8 string: String) { self = Array(string.utf8) }
}

extension String {
    init(utf8Bytes bytes: [UInt8]) { self = String(decoding: bytes, as: UTF8.self) }
}
