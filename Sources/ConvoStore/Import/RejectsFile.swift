#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The rejects file: rejected lines, unchanged, one per line. Opened on the first reject, never
/// through a symbolic link, 0600 (rejected lines hold message bodies); its length is part of the
/// checkpoint, so a batch that runs again or a resumed import cuts it back to what was committed.
final class RejectsFile {
    let path: String
    private var file: SystemFile?

    init(path: String) { self.path = path }

    /// The file's length now (0 if it does not exist).
    func currentLength() -> Int {
        var info = stat()
        return lstat(self.path, &info) == 0 ? Int(info.st_size) : 0
    }

    /// Refuses what would lose or misdirect data before an import starts: a link, or (unless the
    /// import continues or appends to it) an existing non-empty file, which is never replaced silently.
    func checkUsable(existingContentIsOurs: Bool) throws(ConvoStoreError) {
        var info = stat()
        guard lstat(self.path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFLNK {
            throw .invalidField(field: "rejectsPath", reason: "\(self.path) is a symbolic link: rejected lines are not written through links")
        }
        if !existingContentIsOurs && info.st_size > 0 {
            throw .invalidField(
                field: "rejectsPath",
                reason: "\(self.path) already exists (rejected lines of an earlier import?): move it away, or choose another file for this import's rejects")
        }
    }

    private func opened() throws(ConvoStoreError) -> SystemFile {
        if let file { return file }
        let file = try SystemFile.open(self.path, flags: O_WRONLY | O_CREAT | O_NOFOLLOW)
        self.file = file
        return file
    }

    /// Cuts the file back to `length` (a batch that runs again, or a resumed import).
    func truncate(to length: Int) throws(ConvoStoreError) {
        if self.file == nil && length == 0 && self.currentLength() == 0 { return }
        try self.opened().truncate(to: length)
    }

    /// Appends one rejected line, unchanged, and a newline.
    func append(_ line: ImportLine.Text) throws(ConvoStoreError) {
        let file = try self.opened()
        switch line {
        case .bytes(let bytes):
            try file.write(bytes + [0x0A])
        case .spilled(let spill, let offset, let length):
            // Copied in chunks: a line of any length, without holding it whole.
            var done = 0
            while done < length {
                let chunk = try spill.file.read(count: min(1 << 20, length - done), at: offset + done)
                guard !chunk.isEmpty else { throw .io(operation: "read back an over-long line from", path: spill.file.path, errno: EIO) }
                try file.write(chunk)
                done += chunk.count
            }
            try file.write([0x0A])
        }
    }

    /// Flushes to disk (before the checkpoint that counts these lines commits) and returns the length.
    func sync() throws(ConvoStoreError) -> Int {
        guard let file else { return self.currentLength() }
        try file.sync()
        return try file.offset()
    }

    func close() {
        self.file = nil
    }
}
