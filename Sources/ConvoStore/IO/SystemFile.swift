#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// The one funnel for the library's own file I/O (import input, rejects files, exports), as the LMDB
// module is for LMDB's: every call's result is checked and becomes a typed
// ``ConvoStoreError/io(operation:path:errno:)`` naming the path; reads and writes retry on EINTR and
// writes loop over short writes.

/// An open file descriptor and the path it was opened by (for errors). Sendable: its fields never
/// change, and each call is one system call on the descriptor.
package final class SystemFile: Sendable {
    /// The path, or `-` for standard input or output.
    package let path: String
    package let descriptor: Int32
    private let owned: Bool

    private init(path: String, descriptor: Int32, owned: Bool) {
        self.path = path
        self.descriptor = descriptor
        self.owned = owned
    }

    deinit {
        if self.owned { _ = Glibc.close(self.descriptor) }
    }

    /// Standard input, named `-`; never closed here.
    package static var standardInput: SystemFile { SystemFile(path: "-", descriptor: 0, owned: false) }
    /// Standard output, named `-`; never closed here.
    package static var standardOutput: SystemFile { SystemFile(path: "-", descriptor: 1, owned: false) }

    /// Opens `path` with `flags` (`O_CLOEXEC` is added) and, when creating, `mode`.
    package static func open(_ path: String, flags: Int32, mode: mode_t = 0o600) throws(ConvoStoreError) -> SystemFile {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return SystemFile(path: path, descriptor: fd, owned: true) }
            if errno == EINTR { continue }
            throw .io(operation: flags & (O_WRONLY | O_RDWR) != 0 ? "write" : "open", path: path, errno: errno)
        }
    }

    /// Reads up to `count` bytes into `buffer`; 0 at the end of the file.
    package func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(ConvoStoreError) -> Int {
        while true {
            let n = Glibc.read(self.descriptor, buffer, count)
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw .io(operation: "read", path: self.path, errno: errno)
        }
    }

    /// Reads exactly `count` bytes at `offset`, or fewer only at the end of the file.
    package func read(count: Int, at offset: Int) throws(ConvoStoreError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { pread(self.descriptor, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .io(operation: "read", path: self.path, errno: errno) }
            if n == 0 { break }
            done += n
        }
        bytes.removeLast(count - done)
        return bytes
    }

    /// Writes all of `bytes`, looping over short writes.
    package func write(_ bytes: UnsafeRawBufferPointer) throws(ConvoStoreError) {
        var done = 0
        while done < bytes.count {
            let n = Glibc.write(self.descriptor, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw .io(operation: "write", path: self.path, errno: errno) }
            done += n
        }
    }

    /// Writes all of `bytes`.
    package func write(_ bytes: [UInt8]) throws(ConvoStoreError) {
        let result = bytes.withUnsafeBytes { raw in Result { () throws(ConvoStoreError) in try self.write(raw) } }
        try result.get()
    }

    /// Flushes the file's data and size to the disk.
    package func sync() throws(ConvoStoreError) {
        while fsync(self.descriptor) != 0 {
            if errno == EINTR { continue }
            throw .io(operation: "sync", path: self.path, errno: errno)
        }
    }

    /// Cuts (or extends) the file to `length` bytes and moves the offset there.
    package func truncate(to length: Int) throws(ConvoStoreError) {
        guard ftruncate(self.descriptor, off_t(length)) == 0 else { throw .io(operation: "truncate", path: self.path, errno: errno) }
        try self.seek(to: length)
    }

    /// Moves the offset to `offset` from the start.
    package func seek(to offset: Int) throws(ConvoStoreError) {
        guard lseek(self.descriptor, off_t(offset), SEEK_SET) >= 0 else { throw .io(operation: "seek in", path: self.path, errno: errno) }
    }

    /// The current offset.
    package func offset() throws(ConvoStoreError) -> Int {
        let at = lseek(self.descriptor, 0, SEEK_CUR)
        guard at >= 0 else { throw .io(operation: "seek in", path: self.path, errno: errno) }
        return Int(at)
    }

    /// The file's status.
    package func status() throws(ConvoStoreError) -> stat {
        var info = stat()
        guard fstat(self.descriptor, &info) == 0 else { throw .io(operation: "stat", path: self.path, errno: errno) }
        return info
    }

    /// The size of a regular file, or nil for a pipe or a terminal.
    package func regularFileSize() throws(ConvoStoreError) -> Int? {
        let info = try self.status()
        return (info.st_mode & S_IFMT) == S_IFREG ? Int(info.st_size) : nil
    }
}
