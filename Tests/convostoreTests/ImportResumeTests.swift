import ConvoStore
import Foundation
import TestSupport
import Testing

@Suite(.serialized) struct ImportResume {
    /// An import killed with SIGKILL once it has committed a checkpoint, then run again, ends in the
    /// state of one uninterrupted import: the same export, the same rejects file, `check` passes.
    @Test func killedImportsRerunToTheStateOfOneUninterruptedImport() throws {
        try withTemporaryDirectory { dir in
            let dump = dir + "/dump.jsonl"
            let lines = 60_000
            try GeneratedDump.withMalformedLines(lines: lines).write(toFile: dump, atomically: true, encoding: .utf8)
            let reference = try convostore(["import", "--db", dir + "/reference", "--rejects", dir + "/reference.rejects", dump])
            #expect(reference.status == 1)
            #expect(reference.stderr.contains("read 60000 lines: imported 59940, duplicates skipped 0, blank/header skipped 0, rejected 60"))
            let expectedExport = try convostore(["export", "--db", dir + "/reference"]).stdout
            let expectedRejects = try String(contentsOfFile: dir + "/reference.rejects", encoding: .utf8)
            #expect(expectedRejects.split(separator: "\n").count == 60)

            // Each trial kills the import at a later commit. The kill waits for the store to show a
            // committed checkpoint (saved in the same transaction as the lines it covers) and at
            // least that many messages, so every re-run has a checkpoint to resume from, whatever
            // the machine's speed. An import that finishes before the kill also leaves one.
            for (trial, messagesBeforeKill) in [1, 20_000, 40_000].enumerated() {
                let db = dir + "/killed-\(trial)"
                let rejects = dir + "/killed-\(trial).rejects"
                let importer = try startConvostore(["import", "--db", db, "--rejects", rejects, "--quiet", dump])
                while importer.isRunning, !(try hasCommittedCheckpoint(db, messages: messagesBeforeKill)) {
                    usleep(10_000)
                }
                importer.send(SIGKILL)
                _ = importer.waitUntilExit()
                #expect(try hasCommittedCheckpoint(db, messages: messagesBeforeKill), "trial \(trial)")

                let rerun = try convostore(["import", "--db", db, "--rejects", rejects, dump])
                let resumedAfter = try #require(summaryCount("resumed after line", in: rerun.stderr), "trial \(trial) did not resume: \(rerun.stderr)")
                #expect((1...lines).contains(resumedAfter), "trial \(trial)")
                // Resumed, not started over: no line before the checkpoint was applied again (each
                // would count as a duplicate), whether the summary counts this run or the whole import.
                #expect(summaryCount("duplicates skipped", in: rerun.stderr) == 0, "trial \(trial): \(rerun.stderr)")
                // The dump has 60 malformed lines, so the import as a whole rejected 60: the re-run
                // exits 1 and its summary counts the rejects of the whole import, those of the
                // killed run included (issue 11: a resumed run reports the whole import).
                #expect(rerun.status == 1, "trial \(trial): \(rerun.stderr)")
                #expect(summaryCount("rejected", in: rerun.stderr) == 60, "trial \(trial): \(rerun.stderr)")
                #expect(summaryCount("read", in: rerun.stderr) == lines, "trial \(trial): \(rerun.stderr)")
                #expect(try convostore(["export", "--db", db]).stdout == expectedExport, "trial \(trial)")
                #expect(try String(contentsOfFile: rejects, encoding: .utf8) == expectedRejects, "trial \(trial)")
                #expect(try convostore(["check", "--db", db]).status == 0, "trial \(trial)")
            }

            // A finished import run again resumes after its last line and applies nothing again;
            // --restart reads everything (all duplicates).
            let again = try convostore(["import", "--db", dir + "/reference", "--rejects", dir + "/reference.rejects", dump])
            #expect(summaryCount("resumed after line", in: again.stderr) == lines, "\(again.stderr)")
            #expect(summaryCount("duplicates skipped", in: again.stderr) == 0, "\(again.stderr)")
            let restarted = try convostore(["import", "--db", dir + "/reference", "--restart", "--rejects", dir + "/r2.rejects", dump])
            #expect(restarted.stderr.contains("read 60000 lines: imported 0, duplicates skipped 59940"))
            #expect(try convostore(["export", "--db", dir + "/reference"]).stdout == expectedExport)
        }
    }
}

/// Whether the store at `db` holds a committed import checkpoint and at least `messages` messages
/// (false while it does not exist yet), as `convostore stats --json` reports them.
private func hasCommittedCheckpoint(_ db: String, messages: Int) throws -> Bool {
    guard let stats = try convostore(["stats", "--db", db, "--json"]).jsonLines.first,
          let entries = stats["entries"] as? [String: Any] else { return false }
    return (entries["checkpoints"] as? Int ?? 0) > 0 && (stats["messages"] as? Int ?? 0) >= messages
}

/// The number after `label` in the summary line of an import's stderr
/// (`dump.jsonl: read 10 lines: imported 8, ..., rejected 2; resumed after line 5000; ...`).
private func summaryCount(_ label: String, in stderr: String) -> Int? {
    guard let summary = stderr.split(separator: "\n").last(where: { $0.contains(": read ") }),
          let range = summary.range(of: " " + label + " ") else { return nil }
    return Int(summary[range.upperBound...].prefix { $0.isNumber })
}

@Suite struct ImportLimits {
    @Test func overLongLinesAreRejectedWithoutBeingBufferedAndValidLinesAroundThemKept() throws {
        try withTemporaryDirectory { dir in
            let store = try ConvoStore.open(at: dir + "/store")
            defer { store.close() }
            let good = NativeDump.line(Message(id: "a", business: "b", customer: "c", direction: .inbound, at: 1))
            let long = "{\"type\":\"message\",\"body\":\"" + String(repeating: "x", count: 5000) + "\"}"  // 5,028 bytes
            let path = dir + "/dump.jsonl"
            try [good, long, good.replacingOccurrences(of: "\"a\"", with: "\"z\"")].joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            var options = ImportOptions()
            options.maxLineBytes = 1024
            var reports: [String] = []
            let summary = try DumpImporter(store: store, options: options) { reports.append($0) }.importFile(path)
            #expect(summary.linesRead == 3)
            #expect(summary.imported == 2)
            #expect(summary.rejected == 1)
            #expect(reports == ["\(path):2: line of 5028 bytes, over the limit of 1024 (kept whole in the rejects file)"])
            #expect(try String(contentsOfFile: path + ".rejects", encoding: .utf8) == long + "\n")
        }
    }

    @Test func maxRejectsStopsAfterN() throws {
        try withTemporaryDirectory { dir in
            let run = try convostore(["import", "--db", dir + "/s", "--max-rejects", "2", "-"], stdin: .text("x\ny\nz\n" + dump), in: dir)
            #expect(run.status == 1)
            #expect(run.stderr.contains("read 2 lines: imported 0, duplicates skipped 0, blank/header skipped 0, rejected 2"))
            #expect(run.stderr.contains("stopped early"))
            #expect(!run.stderr.contains("stdin:3"))
        }
    }
}

@Suite struct MalformedCorpus {
    /// Every line of the corpus is rejected with its reason (naming the field); every valid line
    /// between them is kept; the rejects file holds exactly the bad lines, unchanged.
    @Test func eachMalformedLineIsRejectedWithItsReasonAndEveryValidLineKept() throws {
        let corpusPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/native-malformed.tsv").path
        let rows = try String(contentsOfFile: corpusPath, encoding: .utf8).split(separator: "\n")
            .filter { !$0.hasPrefix("#") }
            .map { row -> (line: String, reason: String) in
                let parts = row.split(separator: "\t", maxSplits: 1)
                return (String(parts[0]), String(parts[1]))
            }
        #expect(rows.count >= 25)
        try withTemporaryDirectory { dir in
            var lines: [String] = []
            var expected: [(number: Int, reason: String)] = []
            for (index, row) in rows.enumerated() {
                lines.append(NativeDump.line(Message(id: "valid-\(index)", business: "b", customer: "c", direction: .inbound, at: Int64(index), body: Array("one".utf8))))
                lines.append(row.line)
                expected.append((lines.count, row.reason))
            }
            let path = dir + "/corpus.jsonl"
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let run = try convostore(["import", "--db", dir + "/db", path])
            #expect(run.status == 1)
            let reported = run.stderr.split(separator: "\n").filter { $0.hasPrefix(path + ":") && !$0.hasPrefix(path + ": ") }
            #expect(reported.count == rows.count)
            for (number, reason) in expected {
                let report = reported.first { $0.hasPrefix("\(path):\(number): ") }
                #expect(report?.contains(reason) == true, "line \(number): expected \(reason), got \(report ?? "nothing")")
            }
            #expect(run.stderr.contains("imported \(rows.count), duplicates skipped 0, blank/header skipped 0, rejected \(rows.count)"))
            #expect(try String(contentsOfFile: path + ".rejects", encoding: .utf8) == rows.map(\.line).joined(separator: "\n") + "\n")
            #expect(try convostore(["check", "--db", dir + "/db"]).status == 0)
        }
    }
}
