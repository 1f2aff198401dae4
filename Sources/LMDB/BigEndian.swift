#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Big-endian integer encoding, so that byte order (LMDB's key order) is numeric order.
public enum BigEndian {
    /// Appends `value` as `T.bitWidth / 8` big-endian bytes.
    @inlinable
    public static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        var bigEndian = value.bigEndian
        withUnsafeBytes(of: &bigEndian) { bytes.append(contentsOf: $0) }
    }

    /// The bytes of `value`, big-endian.
    @inlinable
    public static func bytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(T.bitWidth / 8)
        append(value, to: &out)
        return out
    }

    /// Reads a big-endian `T` at `offset`; the buffer must hold `T.bitWidth / 8` bytes there.
    @inlinable
    public static func read<T: FixedWidthInteger>(_: T.Type, from buffer: UnsafeRawBufferPointer, at offset: Int = 0) -> T {
        precondition(offset >= 0 && offset + MemoryLayout<T>.size <= buffer.count, "big-endian read past the end of the buffer")
        return T(bigEndian: buffer.loadUnaligned(fromByteOffset: offset, as: T.self))
    }

    /// Reads a big-endian `T` at `offset` of a byte array.
    @inlinable
    public static func read<T: FixedWidthInteger>(_: T.Type, from bytes: [UInt8], at offset: Int = 0) -> T {
        bytes.withUnsafeBytes { read(T.self, from: $0, at: offset) }
    }

    /// Signed integers stored so that byte order is numeric order: the sign bit is flipped.
    @inlinable
    public static func appendOrdered(_ value: Int64, to bytes: inout [UInt8]) {
        append(UInt64(bitPattern: value) ^ (1 << 63), to: &bytes)
    }

    /// Reads a signed integer written by ``appendOrdered(_:to:)``.
    @inlinable
    public static func readOrdered(from buffer: UnsafeRawBufferPointer, at offset: Int = 0) -> Int64 {
        Int64(bitPattern: read(UInt64.self, from: buffer, at: offset) ^ (1 << 63))
    }
}

/// Compares two byte strings the way LMDB's default key comparison does (lexicographic, shorter first).
@inlinable
public func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let n = min(a.count, b.count)
    if n > 0, let pa = a.baseAddress, let pb = b.baseAddress {
        let c = memcmp(pa, pb, n)
        if c != 0 { return Int(c) }
    }
    return a.count - b.count
}
