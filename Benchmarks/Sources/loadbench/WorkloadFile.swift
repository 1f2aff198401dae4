import Foundation

// The workload as a file: the parent generates it once per user count and each engine's child
// process loads it (a few hundred milliseconds at 1M users) instead of generating it again (seconds:
// the sort of 3 million events), which matters once every engine runs several trials.

extension Workload {
    private static let magic: UInt64 = 0x4C42_574C_0000_0002  // "LBWL", version 2

    /// Writes the workload to `path`: a header, the conversations and the events as they sit in memory.
    func save(to path: String) throws {
        let file = try RawFile(path: path, writing: true)
        defer { file.close() }
        let header: [UInt64] = [
            Self.magic, UInt64(self.users), self.seed, UInt64(self.activeConversations), UInt64(self.messageCount),
            UInt64(self.conversations.count), UInt64(self.events.count), UInt64(MemoryLayout<WorkloadEvent>.stride),
        ]
        try header.withUnsafeBytes { try file.write($0) }
        try self.bodyBytes.withUnsafeBytes { try file.write($0) }
        try self.conversations.withUnsafeBytes { try file.write($0) }
        try self.events.withUnsafeBytes { try file.write($0) }
    }

    /// Reads a workload written by ``save(to:)`` by this same build.
    init(loading path: String) throws {
        let file = try RawFile(path: path, writing: false)
        defer { file.close() }
        let header = try [UInt64](unsafeUninitializedCapacity: 8) { buffer, count in
            try file.read(into: UnsafeMutableRawBufferPointer(buffer))
            count = 8
        }
        guard header[0] == Self.magic, header[7] == UInt64(MemoryLayout<WorkloadEvent>.stride) else {
            throw EngineFailure(description: "\(path) is not a workload file of this build")
        }
        let bodyBytes = try [UInt8](unsafeUninitializedCapacity: 256) { buffer, count in
            try file.read(into: UnsafeMutableRawBufferPointer(buffer))
            count = 256
        }
        let conversations = try [WorkloadConversation](unsafeUninitializedCapacity: Int(header[5])) { buffer, count in
            try file.read(into: UnsafeMutableRawBufferPointer(buffer))
            count = buffer.count
        }
        let events = try [WorkloadEvent](unsafeUninitializedCapacity: Int(header[6])) { buffer, count in
            try file.read(into: UnsafeMutableRawBufferPointer(buffer))
            count = buffer.count
        }
        self.init(
            users: Int(header[1]), seed: header[2], conversations: conversations, events: events,
            activeConversations: Int(header[3]), messageCount: Int(header[4]), bodyBytes: bodyBytes)
    }
}

/// A file read or written whole with read(2)/write(2), for the workload file.
private struct RawFile {
    let descriptor: Int32
    let path: String

    init(path: String, writing: Bool) throws {
        self.path = path
        self.descriptor = writing ? open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600) : open(path, O_RDONLY)
        guard self.descriptor >= 0 else { throw EngineFailure(description: "open \(path): \(String(cString: strerror(errno)))") }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            let n = Foundation.write(self.descriptor, bytes.baseAddress! + done, bytes.count - done)
            guard n > 0 else { throw EngineFailure(description: "write \(self.path): \(String(cString: strerror(errno)))") }
            done += n
        }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws {
        var done = 0
        while done < buffer.count {
            let n = Foundation.read(self.descriptor, buffer.baseAddress! + done, buffer.count - done)
            guard n > 0 else { throw EngineFailure(description: "read \(self.path): \(n == 0 ? "file too short" : String(cString: strerror(errno)))") }
            done += n
        }
    }

    func close() { _ = Foundation.close(self.descriptor) }
}
