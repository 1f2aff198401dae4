import LMDB

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

