import ConvoStore
import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Deliveries the store rejected (an event that conflicts with a recorded one, a broken limit),
/// kept whole, one per line, so that the file is a webhook archive: once the cause is fixed,
/// `convostore import --format webhook FILE` records them. Each is appended and synced to disk
/// before the 422 is answered. The file is 0600 (deliveries hold message bodies), never reached
/// through a symbolic link, and only ever appended to.
final class RejectedDeliveries: Sendable {
    let path: String
    private let file: SystemFile
    /// Appends run one at a time, off the concurrency pool (a sync blocks).
    private let queue = DispatchQueue(label: "convostore-server-rejects")

    /// Opens (creating if needed) the file at startup, so that a path that cannot be used stops
    /// the server before it answers anything.
    init(path: String) throws(ServerStartupError) {
        self.path = path
        var info = stat()
        if lstat(path, &info) == 0 {
            if (info.st_mode & S_IFMT) == S_IFLNK {
                throw .rejectsFile(path: path, reason: "is a symbolic link: rejected deliveries are not written through links")
            }
            guard (info.st_mode & S_IFMT) == S_IFREG else { throw .rejectsFile(path: path, reason: "not a regular file") }
            if info.st_mode & 0o077 != 0 {
                throw .rejectsFile(path: path, reason: "may be read by group or others (it holds message bodies): run chmod 600 on it")
            }
        }
        do {
            self.file = try SystemFile.open(path, flags: O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW, mode: 0o600)
        } catch {
            throw .rejectsFile(path: path, reason: error.description)
        }
    }

    /// Appends `delivery` as one line and syncs it. A raw line break inside a JSON body can only be
    /// whitespace between tokens, so it is written as a space: the line stays the same JSON.
    func keep(_ delivery: [UInt8]) async throws {
        var line = delivery
        for i in line.indices where line[i] == 0x0A || line[i] == 0x0D { line[i] = 0x20 }
        line.append(0x0A)
        let (file, bytes) = (self.file, line)
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            self.queue.async {
                do {
                    try file.write(bytes)
                    try file.sync()
                    continuation.resume()
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
