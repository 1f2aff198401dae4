import LMDB

/// How far an import of one input got, written in the transaction of the lines it covers: where to
/// go on, the proof that the input still begins with the bytes already imported, how long the
/// rejects file was, and the whole import's counts so far.
struct Checkpoint: Equatable {
    /// The input offset just after the last committed line.
    var offset: Int
    /// That line's number.
    var line: Int
    /// The hash of the input's bytes before `offset`.
    var prefixHash: PrefixHash
    var rejectsLength: Int
    /// The counts of every run of this import so far.
    var counts: ImportCounts

    private static let version: UInt8 = 2

    static let start = Checkpoint(offset: 0, line: 0, prefixHash: PrefixHash(), rejectsLength: 0, counts: ImportCounts())

    func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 80)
        w.u8(Self.version)
        for value in [self.offset, self.line, self.rejectsLength] { w.u64(UInt64(value)) }
        w.u64(self.prefixHash.value)
        for value in [self.counts.linesRead, self.counts.imported, self.counts.duplicates, self.counts.skipped,
                      self.counts.rejected, self.counts.webhookPartsSkipped] { w.u64(UInt64(value)) }
        return w.bytes
    }

    init(offset: Int, line: Int, prefixHash: PrefixHash, rejectsLength: Int, counts: ImportCounts) {
        self.offset = offset
        self.line = line
        self.prefixHash = prefixHash
        self.rejectsLength = rejectsLength
        self.counts = counts
    }

    /// Decodes a checkpoint; nil for one written by an earlier release (a different layout), which
    /// an import then does not trust: it starts over, skipping what is already recorded.
    init?(decoding buffer: UnsafeRawBufferPointer) throws(ConvoStoreError) {
        guard buffer.count > 0, buffer[0] == Self.version else { return nil }
        var r = ByteReader(buffer, database: "checkpoints")
        _ = try r.u8()
        func count(_ field: String) throws(ConvoStoreError) -> Int {
            let value = try r.u64()
            guard let n = Int(exactly: value) else { throw .corruptRecord(database: "checkpoints", detail: "\(field) \(value) is out of range") }
            return n
        }
        self.offset = try count("offset")
        self.line = try count("line")
        self.rejectsLength = try count("rejects length")
        self.prefixHash = PrefixHash(value: try r.u64())
        self.counts = ImportCounts(
            linesRead: try count("lines read"), imported: try count("imported"), duplicates: try count("duplicates"),
            skipped: try count("skipped"), rejected: try count("rejected"), webhookPartsSkipped: try count("webhook parts skipped"))
        try r.expectEnd()
    }
}
