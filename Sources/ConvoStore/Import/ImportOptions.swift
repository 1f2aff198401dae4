// What an import is asked to do (options), where it stands (progress) and what it did (summary).

/// The input format of an import.
public enum DumpFormat: String, Sendable, CaseIterable {
    /// Native JSON Lines (docs/contract.md, "Native dump format").
    case native
    /// Archives of WhatsApp Cloud API webhook deliveries, one per line.
    case webhook
}

/// How an import treats its input.
public struct ImportOptions: Sendable {
    /// The input format.
    public var format: DumpFormat = .native
    /// Where rejected lines go, unchanged; default `<dump>.rejects` (`stdin.rejects` for `-`).
    public var rejectsPath: String?
    /// Append to the rejects file instead of starting it afresh (several inputs sharing one file).
    public var appendRejects = false
    /// Stop at the first rejected line: the lines before it are committed, nothing of it, and the
    /// checkpoint ends before it, so that the same import run again (after the line is fixed) goes
    /// on from it.
    public var strict = false
    /// Stop at the rejected line that brings the import's rejects to this many (0 stops at the first,
    /// like `strict` but keeping that line aside as a reject).
    public var maxRejects: Int?
    /// Continue from the checkpoint a killed or finished import of the same file left (`--restart` turns it off).
    public var resume = true
    /// Events (lines) per commit.
    public var linesPerCommit = 5_000
    /// Lines longer than this are rejected without being buffered whole.
    public var maxLineBytes = 1 << 20
    /// Called a few times a second while importing (for a progress line).
    public var progress: (@Sendable (ImportProgress) -> Void)?

    /// The defaults.
    public init() {}
}

/// Where an import stands.
public struct ImportProgress: Sendable, Hashable {
    /// Bytes of the input read so far (from its start, counting a resumed part).
    public var bytesRead: Int
    /// The input's size, when it is a regular file.
    public var totalBytes: Int?
    /// Lines read in this run.
    public var linesRead: Int
    /// Lines rejected in this run.
    public var rejected: Int
    /// Seconds since this run started.
    public var elapsed: Double
}

/// What an import did; `imported + duplicates + skipped + rejected == linesRead`. The counts are
/// those of the whole import: a resumed run adds its own to those of the runs before it, so the
/// summary of an import killed and resumed equals that of one uninterrupted import.
public struct ImportSummary: Sendable, Hashable {
    /// Lines read (including blank ones).
    public var linesRead = 0
    /// Lines whose events were recorded.
    public var imported = 0
    /// Lines that changed nothing: messages already recorded with identical content, repeated statuses and controls.
    public var duplicates = 0
    /// Blank lines, dump headers, and webhook deliveries with nothing to record.
    public var skipped = 0
    /// Lines rejected (kept in the rejects file).
    public var rejected = 0
    /// Parts of webhook deliveries skipped (other fields, other message shapes), not errors.
    public var webhookPartsSkipped = 0
    /// Lines read in this run.
    public var linesReadThisRun = 0
    /// Bytes read in this run.
    public var bytesRead = 0
    /// The line after which this run resumed (0: from the start).
    public var resumedAfterLine = 0
    /// Whether the import stopped early (`strict` or `maxRejects`).
    public var stoppedEarly = false
    /// Where rejected lines went, if any were.
    public var rejectsPath: String?
    /// Seconds this run took.
    public var elapsed: Double = 0

    var counts: ImportCounts {
        get {
            ImportCounts(linesRead: self.linesRead, imported: self.imported, duplicates: self.duplicates, skipped: self.skipped,
                         rejected: self.rejected, webhookPartsSkipped: self.webhookPartsSkipped)
        }
        set {
            self.linesRead = newValue.linesRead
            self.imported = newValue.imported
            self.duplicates = newValue.duplicates
            self.skipped = newValue.skipped
            self.rejected = newValue.rejected
            self.webhookPartsSkipped = newValue.webhookPartsSkipped
        }
    }
}

/// The line counts of an import, kept in its checkpoint.
struct ImportCounts: Equatable {
    var linesRead = 0
    var imported = 0
    var duplicates = 0
    var skipped = 0
    var rejected = 0
    var webhookPartsSkipped = 0
}
