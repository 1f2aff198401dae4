import ConvoStore
import Foundation
import TestSupport
import Testing

@Suite(.serialized) struct ImportResume {
    @Test func killedImportsRerunToTheStateOfOneUninterruptedImport() throws {
        try withTemporaryDirectory { dir in
            let dump = dir + "/dump.jsonl"
            try GeneratedDump.withMalformedLines(lines: 60_000).write(toFile: dump, atomically: true, encoding: .utf8)
            let reference = try convostore(["import", "--db", dir + "/reference", "--rejects", dir + "/reference.rejects", dump])
            #expect(reference.status == 1)
            let expectedExport = try convostore(["export", "--db", dir + "/reference"]).stdout
            let expectedRejects = try String(contentsOfFile: dir + "/reference.rejects", encoding: .utf8)
            #expect(expectedRejects.split(separator: "\n").count == 60)

            var generator = SystemRandomNumberGenerator()
            var resumed = 0
            for trial in 0..<3 {
                let db = dir + "/killed-\(trial)"
                let rejects = dir + "/killed-\(trial).rejects"
                let process = try startConvostore(["import", "--db", db, "--rejects", rejects, "--quiet", dump])
                // Kill at a random moment after the first commit, so the re-run has a checkpoint to resume from.
                while process.isRunning, (try convostore(["stats", "--db", db, "--json"]).jsonLines.first?["messages"] as? Int ?? 0) == 0 {
                    usleep(20_000)
                }
                usleep(UInt32.random(in: 0...300_000, using: &generator))
                process.send(SIGKILL)
                _ = process.waitUntilExit()

                let rerun = try convostore(["import", "--db", db, "--rejects", rejects, dump])
                #expect(rerun.status == 1 || rerun.stderr.contains("rejected 0"))
                if rerun.stderr.contains("resumed after line") { resumed += 1 }
                #expect(try convostore(["export", "--db", db]).stdout == expectedExport, "trial \(trial)")
                #expect(try String(contentsOfFile: rejects, encoding: .utf8) == expectedRejects, "trial \(trial)")
                #expect(try convostore(["check", "--db", db]).status == 0)
            }

            #expect(resumed > 0, "no trial was killed mid-import")

            // A finished import run again reads nothing new; --restart reads everything (all duplicates).
            let again = try convostore(["import", "--db", dir + "/reference", "--rejects", dir + "/reference.rejects", dump])
            #expect(again.stderr.contains("read 0 lines"))
            let restarted = try convostore(["import", "--db", dir + "/reference", "--restart", "--rejects", dir + "/r2.rejects", dump])
            #expect(restarted.stderr.contains("read 60000 lines: imported 0, duplicates skipped 59940"))
            #expect(try convostore(["export", "--db", dir + "/reference"]).stdout == expectedExport)
        }
    }
}

@Suite struct ImportLimits {
    @Test func overLongLinesAreRejectedWithoutBeingBufferedAndValidLinesAroundThemKept() throws {
        try withTemporaryDirectory { dir in
            let store = try ConvoStore.open(at: dir + "/store")
            defer { store.close() }
            let good = NativeDump.line(Message(id: "a", business: "b", customer: "c", direction: .inbound, at: 1))
            let long = "{\"type\":\"message\",\"body\":\"" + String(repeating: "x", count: 5000) + "\"}"
            let path = dir + "/dump.jsonl"
            try [good, long, good.replacingOccurrences(of: "\"a\"", with: "\"z\"")].joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            var options = ImportOptions()
            options.maxLineBytes = 1024
            var reports: [String] = []
            let summary = try DumpImporter(store: store, options: options) { reports.append($0) }.importFile(path)
            #expect(summary.linesRead == 3)
            #expect(summary.imported == 2)
            #expect(summary.rejected == 1)
            #expect(reports == ["\(path):2: line longer than 1024 bytes (its first 1024 bytes are kept in the rejects file)"])
            #expect(try Data(contentsOf: URL(fileURLWithPath: path + ".rejects")).count == 1025)
        }
    }

    @Test func maxRejectsStopsAfterN() throws {
        try withTemporaryDirectory { dir in
            let run = try convostore(["import", "--db", dir + "/s", "--max-rejects", "2", "-"], stdin: .text("x\ny\nz\n" + dump))
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
