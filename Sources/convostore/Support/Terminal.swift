import ConvoStore
import Foundation

// What the command line prints: standard output through one checked writer (a failed write, such
// as a full disk or /dev/full, is an error and exit status 1, never a silent loss), messages on
// standard error, and human tables that stream. Stored ids and rejected fields are never printed
// raw: control characters are escaped and long values cut (Display).

/// Standard output, buffered; every write checked.
struct Output {
    private var writer = LineWriter(SystemFile.standardOutput, capacity: 1 << 16)

    mutating func line(_ text: String) throws {
        try self.writer.line(text)
    }

    /// Writes what is buffered; a failure ends the command with exit status 1.
    mutating func flush() throws {
        do {
            try self.writer.flush()
        } catch {
            printError("error: \(error)")
            throw Exit.problem
        }
    }
}

/// One message on standard error (its failure cannot be reported anywhere else).
func printError(_ text: String, newline: Bool = true) {
    try? SystemFile.standardError.write(Array((newline ? text + "\n" : text).utf8))
}

/// A time for people: RFC 3339 in UTC, `-` for none.
func rfc3339(_ ms: Int64?) -> String { ms.map(Timestamp.format) ?? "-" }

/// A human table written as its rows come: column widths are taken from the header and the first
/// rows (up to `sample`), then rows stream with those widths; a longer cell pushes its line out
/// rather than holding every row in memory.
struct TableWriter {
    private let header: [String]
    private var widths: [Int]
    private var pending: [[String]] = []
    private var streaming = false
    private let sample: Int
    private var output: Output

    init(_ header: [String], output: Output, sample: Int = 1000) {
        self.header = header
        self.widths = header.map(\.count)
        self.output = output
        self.sample = sample
    }

    /// Adds a row; its cells are made safe to print here.
    mutating func row(_ cells: [String]) throws {
        let cells = cells.map { Display.safe($0) }
        if self.streaming { return try self.write(cells) }
        self.pending.append(cells)
        if self.pending.count >= self.sample { try self.startStreaming() }
    }

    /// Writes what is held and flushes.
    mutating func finish() throws {
        if !self.streaming { try self.startStreaming() }
        try self.output.flush()
    }

    private mutating func startStreaming() throws {
        for row in self.pending { for (i, cell) in row.enumerated() { self.widths[i] = max(self.widths[i], cell.count) } }
        self.streaming = true
        try self.write(self.header)
        for row in self.pending { try self.write(row) }
        self.pending = []
    }

    private mutating func write(_ row: [String]) throws {
        let text = row.enumerated().map { i, cell in
            i == row.count - 1 ? cell : cell.padding(toLength: max(self.widths[i], cell.count), withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
        try self.output.line(text)
    }
}

func nowMillis() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
