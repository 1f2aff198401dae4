#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The rejects file, opened on the first reject; its length is part of the checkpoint.
final class RejectsFile {
    let path: String
    private var file: SystemFile?

    init(path: String) { self.path = path }

    func currentLength() -> Int {
        var info = stat()
        return stat(self.path, &info) == 0 ? Int(info.st_size) : 0
    }

    private func opened() throws(ConvoStoreError) -> SystemFile {
        if let file { return file }
        let file = try SystemFile.open(self.path, flags: O_WRONLY | O_CREAT)  // 0600: rejected lines hold message bodies
        self.file = file
        return file
    }

    /// Cuts the file back to `length` (a batch that runs again, or a resumed import).
    func truncate(to length: Int) throws(ConvoStoreError) {
        if self.file == nil && length == 0 && self.currentLength() == 0 { return }
        try self.opened().truncate(to: length)
    }

    /// Appends one rejected line, unchanged, and a newline.
    func append(_ line: [UInt8]) throws(ConvoStoreError) {
        try self.opened().write(line + [0x0A])
    }

    /// Flushes to disk (before the checkpoint that counts these lines commits) and returns the length.
    func sync() throws(ConvoStoreError) -> Int {
        guard let file else { return 0 }
        try file.sync()
        return try file.offset()
    }

    func close() {
        self.file = nil
    }
}
