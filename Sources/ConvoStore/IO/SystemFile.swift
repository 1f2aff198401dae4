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

    /// Takes ownership of an open descriptor.
    package convenience init(adopting descriptor: Int32, path: String) {
        self.init(path: path, descriptor: descriptor, owned: true)
    }

    /// Standard input, named `-`; never closed here.
    package static var standardInput: SystemFile { SystemFile(path: "-", descriptor: 0, owned: false) }
    /// Standard output, named `-`; never closed here.
    package static var standardOutput: SystemFile { SystemFile(path: "-", descriptor: 1, owned: false) }
    /// Standard error; never closed here.
    package static var standardError: SystemFile { SystemFile(path: "standard error", descriptor: 2, owned: false) }

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

extension SystemFile {
    /// A new, unnamed file in the temporary directory (`$TMPDIR`, else `/tmp`), readable and
    /// writable only by its owner; it is gone once closed.
    package static func anonymousTemporary() throws(ConvoStoreError) -> SystemFile {
        let directory = getenv("TMPDIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        // O_TMPFILE (Linux), which Glibc's module does not export: __O_TMPFILE | O_DIRECTORY.
        let tmpfile: Int32 = 0o20_000_000 | O_DIRECTORY
        if let file = try? SystemFile.open(directory, flags: O_RDWR | tmpfile, mode: 0o600) { return file }
        // Filesystems without O_TMPFILE: a named file, unlinked at once.
        var template = Array((directory + "/convostore-spill-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw .io(operation: "create a temporary file in", path: directory, errno: errno) }
        unlink(template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) })
        return SystemFile(adopting: fd, path: directory + "/(temporary)")
    }
}

/// Lines written through a buffer to a file, every write checked (an output that fails, such as a
/// full disk or /dev/full, is an error, never a silent loss).
package struct LineWriter {
    package let file: SystemFile
    private var buffer: [UInt8] = []
    private let capacity: Int

    package init(_ file: SystemFile, capacity: Int = 1 << 20) {
        self.file = file
        self.capacity = capacity
        self.buffer.reserveCapacity(capacity)
    }

    /// Appends `text` and a newline.
    package mutating func line(_ text: String) throws(ConvoStoreError) {
        self.buffer.append(contentsOf: text.utf8)
        self.buffer.append(0x0A)
        if self.buffer.count >= self.capacity { try self.flush() }
    }

    /// Writes what is buffered.
    package mutating func flush() throws(ConvoStoreError) {
        guard !self.buffer.isEmpty else { return }
        try self.file.write(self.buffer)
        self.buffer.removeAll(keepingCapacity: true)
    }
}

extension SystemFile {
    /// Writes a file whole or not at all: `write` fills a new file beside `path` (mode `mode`), which
    /// is flushed to disk and then renamed over `path`; if anything fails, the new file is removed
    /// and whatever was at `path` stays as it was.
    package static func replaceAtomically(_ path: String, mode: mode_t = 0o600, _ write: (SystemFile) throws -> Void) throws {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { String(path[..<$0]).isEmpty ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let temporary = "\(directory)/.\(name).convostore-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let file = try SystemFile.open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: mode)
        do {
            try write(file)
            try file.sync()
            guard rename(temporary, path) == 0 else { throw ConvoStoreError.io(operation: "rename a finished file over", path: path, errno: errno) }
        } catch {
            unlink(temporary)
            throw error
        }
        // The rename itself reaches the disk once the directory is synced.
        if let dir = try? SystemFile.open(directory, flags: O_RDONLY | O_DIRECTORY) { try? dir.sync() }
    }
}
