import LMDB

// CRC-32C (Castagnoli), the checksum a record value ends with: LMDB checks none of its pages or
// values, so a flipped byte inside a record (a message's kind, a body) would otherwise be read and
// exported as if it were data. Slicing-by-8 over eight 256-entry tables (8 KiB), computed once.

enum CRC32C {
    /// Table `k` at `[k * 256 ..< (k + 1) * 256]`: the CRC of a byte followed by `k` zero bytes.
    private static let table: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 8 * 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
            table[i] = c
        }
        for k in 1..<8 {
            for i in 0..<256 { table[k * 256 + i] = (table[(k - 1) * 256 + i] >> 8) ^ table[Int(table[(k - 1) * 256 + i] & 0xFF)] }
        }
        return table
    }()

    /// The CRC-32C of `bytes`.
    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        Self.table.withUnsafeBufferPointer { t in
            var crc: UInt32 = 0xFFFF_FFFF
            var i = 0
            while i + 8 <= bytes.count {
                let lo = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt32.self)) ^ crc
                let hi = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: i + 4, as: UInt32.self))
                crc = t[7 * 256 + Int(lo & 0xFF)] ^ t[6 * 256 + Int((lo >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((lo >> 16) & 0xFF)] ^ t[4 * 256 + Int(lo >> 24)]
                    ^ t[3 * 256 + Int(hi & 0xFF)] ^ t[2 * 256 + Int((hi >> 8) & 0xFF)]
                    ^ t[256 + Int((hi >> 16) & 0xFF)] ^ t[Int(hi >> 24)]
                i += 8
            }
            while i < bytes.count {
                crc = (crc >> 8) ^ t[Int((crc ^ UInt32(bytes[i])) & 0xFF)]
                i += 1
            }
            return ~crc
        }
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { Self.checksum($0) }
    }
}

/// The record checksum as the micro-benchmarks measure it (`@_spi(Benchmarks) import ConvoStore`), the
/// store's own code rather than a copy; not part of the store's API.
@_spi(Benchmarks) public enum RecordChecksum {
    /// The CRC-32C a record value ends with, of `bytes` (sealing on write and verifying on read each
    /// compute it once).
    @_spi(Benchmarks) public static func of(_ bytes: UnsafeRawBufferPointer) -> UInt32 { CRC32C.checksum(bytes) }
}

extension ByteWriter {
    /// Ends a record: the CRC-32C of everything written so far, big-endian.
    mutating func seal() {
        self.u32(CRC32C.checksum(self.bytes))
    }
}

extension ByteReader {
    /// Checks the CRC-32C that ends the record (the last 4 bytes) and returns a reader of what it
    /// covers; a mismatch is damage, reported as a corrupt record.
    static func sealed(_ buffer: UnsafeRawBufferPointer, database: String) throws(ConvoStoreError) -> ByteReader {
        guard buffer.count >= 4 else {
            throw .corruptRecord(database: database, detail: "a record of \(buffer.count) bytes, too short for its checksum")
        }
        let body = UnsafeRawBufferPointer(rebasing: buffer[0..<(buffer.count - 4)])
        let stored = BigEndian.read(UInt32.self, from: buffer, at: buffer.count - 4)
        guard CRC32C.checksum(body) == stored else {
            throw .corruptRecord(database: database, detail: "checksum mismatch: the record's bytes were damaged")
        }
        return ByteReader(body, database: database)
    }
}
