import Foundation

/// What a child process reads on its standard input.
public enum StandardInput: Sendable {
    /// Nothing: the child reads end-of-file at once (`/dev/null`).
    case empty
    /// These characters, UTF-8 encoded.
    case text(String)
    /// These bytes, unchanged.
    case bytes([UInt8])
}

/// What a finished child process did.
public struct ProcessResult: Sendable {
    /// The exit status, or the number of the signal that ended it (see `reason`).
    public var status: Int32
    /// Whether the process exited or was ended by a signal.
    public var reason: Process.TerminationReason
    /// Everything the process wrote on its standard output, decoded as UTF-8.
    public var stdout: String
    /// Everything the process wrote on its standard error, decoded as UTF-8.
    public var stderr: String

    /// Each line of `stdout` that is a JSON object, in order (for `--json` output).
    public var jsonLines: [[String: Any]] {
        self.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }
}

/// A child process under way. Its standard output and standard error are pipes, each drained by a
/// thread of its own from the moment it starts, so a child that fills one pipe while this process
/// waits on the other never blocks (reading one to its end and then the other would deadlock).
public final class RunningProcess: @unchecked Sendable {
    // @unchecked: `process` is started in init and afterwards only queried, signalled and waited
    // on, which Foundation's Process allows from any thread; the drains synchronize themselves.
    private let process: Process
    private let stdout: PipeDrain
    private let stderr: PipeDrain

    /// Starts `executable` with `arguments`.
    /// - Parameters:
    ///   - stdin: what the child reads; it is written to a temporary file first, so a child that
    ///     never reads it cannot block this process.
    ///   - environment: the child's whole environment; `nil` passes this process's environment on.
    ///   - directory: the child's working directory; `nil` keeps this process's. A test whose child
    ///     writes files next to where it runs (`convostore import -` writes `stdin.rejects`) passes
    ///     its temporary directory, so that nothing lands in the package or outlives the test.
    public init(
        _ executable: URL, _ arguments: [String], stdin: StandardInput = .empty, environment: [String: String]? = nil,
        in directory: String? = nil
    ) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory, isDirectory: true) }
        process.standardInput = try Self.inputHandle(stdin)
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        self.process = process
        self.stdout = PipeDrain(out.fileHandleForReading)
        self.stderr = PipeDrain(err.fileHandleForReading)
    }

    /// The child's process id.
    public var processIdentifier: Int32 { self.process.processIdentifier }

    /// Whether the child has not exited yet.
    public var isRunning: Bool { self.process.isRunning }

    /// Sends `signal` (for example `SIGKILL`) to the child.
    public func send(_ signal: Int32) {
        kill(self.process.processIdentifier, signal)
    }

    /// Blocks the calling thread until the child exits and both its pipes are drained.
    public func waitUntilExit() -> ProcessResult {
        let stdout = self.stdout.wait()
        let stderr = self.stderr.wait()
        self.process.waitUntilExit()
        return ProcessResult(
            status: self.process.terminationStatus, reason: self.process.terminationReason,
            stdout: String(decoding: stdout, as: UTF8.self), stderr: String(decoding: stderr, as: UTF8.self))
    }

    /// Waits, on a thread of its own rather than the cooperative pool, until the child exits.
    public func wait() async -> ProcessResult {
        await withCheckedContinuation { continuation in
            Thread { continuation.resume(returning: self.waitUntilExit()) }.start()
        }
    }

    private static func inputHandle(_ stdin: StandardInput) throws -> FileHandle {
        let bytes: [UInt8]
        switch stdin {
        case .empty: return FileHandle(forReadingAtPath: "/dev/null")!
        case .text(let text): bytes = Array(text.utf8)
        case .bytes(let given): bytes = given
        }
        // A file rather than a pipe: writing a pipe the child does not read would block, or raise
        // SIGPIPE in this process if the child exits first.
        let path = NSTemporaryDirectory() + "convostore-stdin-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }  // the open descriptor keeps the contents until the child is done
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadUnknown, userInfo: [NSFilePathErrorKey: path])
        }
        return handle
    }
}

/// Reads a pipe to its end on a thread of its own; `wait()` returns everything read.
private final class PipeDrain: @unchecked Sendable {
    // @unchecked: `data` is written once by the reader thread and read after it, both under `done`.
    private let done = NSCondition()  // a pthread condition: ThreadSanitizer sees it
    private var data: Data?

    init(_ handle: FileHandle) {
        Thread {
            let all = handle.readDataToEndOfFile()
            try? handle.close()
            self.done.lock()
            self.data = all
            self.done.broadcast()
            self.done.unlock()
        }.start()
    }

    func wait() -> Data {
        self.done.lock()
        defer { self.done.unlock() }
        while self.data == nil { self.done.wait() }
        return self.data!
    }
}

/// Starts `executable` (a path) with `arguments`; see ``RunningProcess/init(_:_:stdin:environment:in:)``.
public func startProcess(
    _ executable: String, _ arguments: [String], stdin: StandardInput = .empty, environment: [String: String]? = nil, in directory: String? = nil
) throws -> RunningProcess {
    try RunningProcess(URL(fileURLWithPath: executable), arguments, stdin: stdin, environment: environment, in: directory)
}

/// Runs `executable` (a path) with `arguments` to its end and returns what it did.
public func runProcess(
    _ executable: String, _ arguments: [String], stdin: StandardInput = .empty, environment: [String: String]? = nil, in directory: String? = nil
) throws -> ProcessResult {
    try startProcess(executable, arguments, stdin: stdin, environment: environment, in: directory).waitUntilExit()
}

/// The `convostore` command line built beside the tests.
public var convostorePath: String { builtProduct("convostore").path }

/// Starts the built `convostore` with `arguments` (`convostore import ...`) without waiting for it.
public func startConvostore(
    _ arguments: [String], stdin: StandardInput = .empty, environment: [String: String]? = nil, in directory: String? = nil
) throws -> RunningProcess {
    try RunningProcess(builtProduct("convostore"), arguments, stdin: stdin, environment: environment, in: directory)
}

/// Runs the built `convostore` with `arguments` to its end and returns what it did.
public func convostore(
    _ arguments: [String], stdin: StandardInput = .empty, environment: [String: String]? = nil, in directory: String? = nil
) throws -> ProcessResult {
    try startConvostore(arguments, stdin: stdin, environment: environment, in: directory).waitUntilExit()
}
