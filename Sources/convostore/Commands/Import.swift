import ArgumentParser
import ConvoStore
import Foundation

struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Stream dumps into the store (`-` is standard input).")
    @OptionGroup var store: StoreOption
    @Option(help: "Input format: native (JSON Lines) or webhook (WhatsApp Cloud API deliveries).") var format: String = "native"
    @Option(help: "Where rejected lines go (default <dump>.rejects; stdin.rejects for -). An existing file is never replaced.") var rejects: String?
    @Flag(help: "Stop at the first rejected line (nothing of it is committed; run again once it is fixed).") var strict = false
    @Option(help: "Stop at the rejected line that makes N rejects in all (0 or 1: the first).") var maxRejects: Int?
    @Flag(help: "Ignore the checkpoint of an earlier run and import from the start.") var restart = false
    @Flag(help: "No progress line.") var quiet = false
    @Argument(help: "Dump files; - for standard input.") var files: [String]

    func run() throws {
        guard let format = DumpFormat(rawValue: self.format) else {
            printError("error: --format \(Display.quoted(self.format)): expected native or webhook")
            throw Exit.usage
        }
        if let maxRejects = self.maxRejects, maxRejects < 0 {
            printError("error: --max-rejects \(maxRejects): must not be negative")
            throw Exit.usage
        }
        guard !self.files.isEmpty else {
            printError("error: give at least one FILE (or -)")
            throw Exit.usage
        }
        let db = try self.store.open(create: true)
        var anyRejected = false
        let showProgress = !self.quiet && isatty(2) != 0
        for (index, file) in self.files.enumerated() {
            var options = ImportOptions()
            options.format = format
            options.rejectsPath = self.rejects
            options.appendRejects = self.rejects != nil && index > 0
            options.strict = self.strict
            options.maxRejects = self.maxRejects
            options.resume = !self.restart
            if showProgress { options.progress = { printProgress($0) } }
            let importer = DumpImporter(store: db, options: options) { line in
                if showProgress { printError("\r\u{1B}[K", newline: false) }
                printError(line)
            }
            let summary: ImportSummary
            do {
                summary = try importer.importFile(file)
            } catch {
                if showProgress { printError("\r\u{1B}[K", newline: false) }
                printError("error: \(Display.safe(file)): \(error)"
                    + "; what was committed is kept: run the same command again to go on from there")
                throw Exit.usage
            }
            if showProgress { printError("\r\u{1B}[K", newline: false) }
            printError(summaryLine(file, summary))
            if summary.rejected > 0 { anyRejected = true }
            if summary.stoppedEarly { break }
        }
        if anyRejected { throw Exit.problem }
    }
}

func summaryLine(_ file: String, _ s: ImportSummary) -> String {
    var text = "\(Display.safe(file)): read \(s.linesRead) lines: imported \(s.imported), duplicates skipped \(s.duplicates), "
        + "blank/header skipped \(s.skipped), rejected \(s.rejected)"
    if let path = s.rejectsPath, s.rejected > 0 { text += " (kept in \(Display.safe(path)))" }
    if s.webhookPartsSkipped > 0 { text += "; \(s.webhookPartsSkipped) webhook parts skipped" }
    if s.resumedAfterLine > 0 { text += "; resumed after line \(s.resumedAfterLine) (\(s.linesReadThisRun) lines read in this run)" }
    let rate = s.elapsed > 0 ? Double(s.linesReadThisRun) / s.elapsed : 0
    text += String(format: "; %.2fs, %.0f lines/s, %.1f MB/s", s.elapsed, rate, s.elapsed > 0 ? Double(s.bytesRead) / s.elapsed / 1e6 : 0)
    if s.stoppedEarly { text += "; stopped early" }
    return text
}

/// One progress line on stderr, rewritten in place: bytes and percent, lines/s, ETA, rejects.
func printProgress(_ p: ImportProgress) {
    let rate = p.elapsed > 0 ? Double(p.linesRead) / p.elapsed : 0
    var text = String(format: "%.1f MB", Double(p.bytesRead) / 1e6)
    if let total = p.totalBytes, total > 0 {
        let fraction = Double(p.bytesRead) / Double(total)
        let eta = fraction > 0 ? p.elapsed * (1 - fraction) / fraction : 0
        text += String(format: " of %.1f MB (%.0f%%), ETA %d:%02d", Double(total) / 1e6, fraction * 100, Int(eta) / 60, Int(eta) % 60)
    }
    text += String(format: ", %.0f lines/s, %d rejected", rate, p.rejected)
    printError("\r\u{1B}[K" + text, newline: false)
}
