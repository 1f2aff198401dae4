// crash-writer STORE LOG [TASKS]
//
// Opens the store and, from TASKS concurrent tasks (default 8), submits pairs (CrashWorkload) through
// the async group commit forever. After each submit returns (the commit is durable) it appends
// "task pair" to LOG and fsyncs it, so every line in LOG names a pair the store acknowledged.
// The harness kills it with SIGKILL at a random moment. A restarted writer continues each task
// after the last pair the log names, so trials accumulate in one store.
import ConvoStore
import CrashWorkload
import Foundation

let arguments = CommandLine.arguments
guard arguments.count >= 3 else {
    FileHandle.standardError.write(Data("usage: crash-writer STORE LOG [TASKS]\n".utf8))
    exit(2)
}
let storePath = arguments[1]
let logPath = arguments[2]
let tasks = arguments.count > 3 ? Int(arguments[3]) ?? 8 : 8

/// The side log of acknowledged pairs: appended and fsynced under a lock, one line per pair.
final class AckLog: @unchecked Sendable {
    // @unchecked: `fd` is written only under `lock`.
    private let lock = NSLock()
    private let fd: Int32

    init(path: String) {
        self.fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        guard self.fd >= 0 else {
            FileHandle.standardError.write(Data("crash-writer: cannot open \(path): errno \(errno)\n".utf8))
            exit(2)
        }
    }

    func acknowledge(task: Int, pair: Int) {
        let line = Array(CrashWorkload.logLine(task: task, pair: pair).utf8)
        self.lock.lock()
        defer { self.lock.unlock() }
        let written = line.withUnsafeBytes { write(self.fd, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(self.fd) == 0 else {
            FileHandle.standardError.write(Data("crash-writer: cannot log: errno \(errno)\n".utf8))
            exit(2)
        }
    }
}

/// The next pair of each task: one past the highest the log names (a killed writer's pairs that were
/// committed but not logged are submitted again and come back as duplicates, which is fine).
func nextPairs(logPath: String, tasks: Int) -> [Int] {
    var next = [Int](repeating: 0, count: tasks)
    guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return next }
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: " ")
        guard parts.count == 2, let task = Int(parts[0]), let pair = Int(parts[1]), task < tasks else { continue }
        next[task] = max(next[task], pair + 1)
    }
    return next
}

let store: ConvoStore
do {
    store = try ConvoStore.open(at: storePath)
} catch {
    FileHandle.standardError.write(Data("crash-writer: cannot open \(storePath): \(error)\n".utf8))
    exit(2)
}
let log = AckLog(path: logPath)
let starts = nextPairs(logPath: logPath, tasks: tasks)
FileHandle.standardError.write(Data("crash-writer: \(tasks) tasks, starting at pairs \(starts)\n".utf8))

await withTaskGroup(of: Void.self) { group in
    for task in 0..<tasks {
        group.addTask {
            var pair = starts[task]
            while true {
                do {
                    let results = try await store.submit(CrashWorkload.events(task: task, pair: pair))
                    for result in results where !(result == .recorded || result == .duplicate) {
                        FileHandle.standardError.write(Data("crash-writer: pair \(task) \(pair): \(result)\n".utf8))
                        exit(1)
                    }
                } catch {
                    FileHandle.standardError.write(Data("crash-writer: pair \(task) \(pair): \(error)\n".utf8))
                    exit(1)
                }
                log.acknowledge(task: task, pair: pair)
                pair += 1
            }
        }
    }
}
