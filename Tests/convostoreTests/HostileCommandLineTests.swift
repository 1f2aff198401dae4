import Foundation
import TestSupport
import Testing

// Issue 11, on the command line: what a hostile or careless user did to it once, each a test that
// failed before its fix.

private let oneMessage = #"{"type":"message","id":"m1","business":"b","customer":"c","direction":"in","at":1751364000000}"#

/// Whether this process may mount a tmpfs (root, as in CI): the only way to fill a filesystem for real.
private let canMountTmpfs: Bool = {
    guard getuid() == 0 else { return false }
    let dir = makeTemporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    guard (try? runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]))?.status == 0 else { return false }
    _ = try? runProcess("/bin/umount", [dir])
    return true
}()

/// A directory on a tmpfs of `kilobytes`, unmounted when `body` returns.
private func withSmallFilesystem(kilobytes: Int, _ body: (String) throws -> Void) throws {
    try withTemporaryDirectory { dir in
        let mount = try runProcess("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", dir])
        try #require(mount.status == 0, "mount: \(mount.stderr)")
        defer { _ = try? runProcess("/bin/umount", [dir]) }
        try body(dir)
    }
}

@Suite(.serialized) struct HostileCommandLine {
    /// Times past the store's range are a clear usage error (exit 2), never an overflow trap.
    @Test func extremeTimesAreUsageErrors() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/db"
            #expect(try convostore(["import", "--db", db, "-"], stdin: .text(oneMessage), in: dir).status == 0)
            for args in [["overdue", "--as-of", "9223372036854775807"], ["newly-overdue", "--after", "0", "--until", "9223372036854775807"],
                         ["windows", "--from", "-5", "--to", "10"], ["show", "--business", "b", "--customer", "c", "--at", "99999-01-01T00:00:00Z"]] {
                let run = try convostore([args[0], "--db", db] + args.dropFirst())
                #expect(run.status == 2, "\(args): \(run.stderr)")
                #expect(run.reason == .exit)
                #expect(run.stderr.hasPrefix("error: "), "\(args): \(run.stderr)")
            }
            let latest = try convostore(["overdue", "--db", db, "--as-of", "9999-12-31T23:59:59.999Z", "--json"])
            #expect(latest.status == 0 && latest.jsonLines.count == 1)
        }
    }

    /// A failed write to standard output is exit status 1 with the reason, never a trap or a silent 0.
    @Test(arguments: [["export"], ["stats"], ["stats", "--json"], ["overdue", "--as-of", "2030-01-01T00:00:00Z"], ["check"]])
    func aFullOutputIsAnError(command: [String]) throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/db"
            #expect(try convostore(["import", "--db", db, "-"], stdin: .text(oneMessage), in: dir).status == 0)
            let run = try runProcess("/bin/sh", ["-c", "\"$0\" \"$@\" > /dev/full", convostorePath, command[0], "--db", db] + command.dropFirst())
            #expect(run.reason == .exit)
            #expect(run.status == 1, "\(command): \(run.stderr)")
            #expect(run.stderr.contains("No space left on device"), "\(command): \(run.stderr)")
        }
    }

    /// `export --output` writes a file only its owner reads, whole or not at all.
    @Test func anExportFileIsPrivateAndWholeOrNothing() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/db"
            #expect(try convostore(["import", "--db", db, "-"], stdin: .text(oneMessage), in: dir).status == 0)
            let out = dir + "/copy.jsonl"
            #expect(try convostore(["export", "--db", db, "--output", out]).status == 0)
            let mode = try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as? Int
            #expect(mode == 0o600)
            #expect(try String(contentsOfFile: out, encoding: .utf8).contains("\"m1\""))
            #expect(try FileManager.default.subpathsOfDirectory(atPath: dir).filter { $0.contains(".convostore-") }.isEmpty)
        }
    }

    @Test(.enabled(if: canMountTmpfs, "needs root to mount a small tmpfs"))
    func aFailedExportLeavesTheOldFileAsItWas() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/db"
            let big = (0..<3000).map { #"{"type":"message","id":"m\#($0)","business":"b","customer":"c\#($0)","direction":"in","at":\#(1751364000000 + $0),"body":"\#(String(repeating: "x", count: 200))"}"# }
            #expect(try convostore(["import", "--db", db, "--quiet", "-"], stdin: .text(big.joined(separator: "\n")), in: dir).status == 0)
            try withSmallFilesystem(kilobytes: 256) { small in
                let out = small + "/copy.jsonl"
                try "the good old export\n".write(toFile: out, atomically: false, encoding: .utf8)
                let run = try convostore(["export", "--db", db, "--output", out])
                #expect(run.status == 1)
                #expect(run.stderr.contains("No space left on device"), "\(run.stderr)")
                #expect(try String(contentsOfFile: out, encoding: .utf8) == "the good old export\n")
                #expect(try FileManager.default.contentsOfDirectory(atPath: small) == ["copy.jsonl"])
            }
        }
    }

    /// Creating a store on a full filesystem is a clear error, not SIGBUS inside liblmdb; an import
    /// that runs out of space says so, keeps what it committed, and goes on once there is room.
    @Test(.enabled(if: canMountTmpfs, "needs root to mount a small tmpfs"))
    func aFullFilesystemIsAClearErrorAndAResumableImport() throws {
        try withSmallFilesystem(kilobytes: 1024) { small in
            let filler = small + "/filler"
            FileManager.default.createFile(atPath: filler, contents: Data(count: 1024 * 1024 - 4096))
            let created = try convostore(["import", "--db", small + "/db", "-"], stdin: .text(oneMessage), in: small)
            #expect(created.reason == .exit, "ended by signal \(created.status)")
            #expect(created.status == 2)
            #expect(created.stderr.contains("no space left on device"), "\(created.stderr)")
            try FileManager.default.removeItem(atPath: filler)
        }
        try withTemporaryDirectory { dir in
            let lines = (0..<20_000).map { #"{"type":"message","id":"m\#($0)","business":"b","customer":"c\#($0 % 500)","direction":"in","at":\#(1751364000000 + $0),"body":"\#(String(repeating: "y", count: 100))"}"# }
            let dump = dir + "/dump.jsonl"
            try (lines.joined(separator: "\n") + "\n").write(toFile: dump, atomically: true, encoding: .utf8)
            #expect(try convostore(["import", "--db", dir + "/reference", "--quiet", dump]).status == 0)
            let reference = try convostore(["export", "--db", dir + "/reference"]).stdout
            try withSmallFilesystem(kilobytes: 2048) { small in
                let db = small + "/db"
                let full = try convostore(["import", "--db", db, "--quiet", dump])
                #expect(full.reason == .exit)
                #expect(full.status == 2)
                #expect(full.stderr.contains("no space left on device") && full.stderr.contains("earlier commits are intact"), "\(full.stderr)")
                #expect(try convostore(["check", "--db", db]).status == 0)
                // More room (the tmpfs grows), and the same command goes on to the end.
                #expect(try runProcess("/bin/mount", ["-o", "remount,size=64m", small]).status == 0)
                let resumed = try convostore(["import", "--db", db, "--quiet", dump])
                #expect(resumed.status == 0, "\(resumed.stderr)")
                #expect(resumed.stderr.contains("resumed after line"))
                #expect(try convostore(["export", "--db", db]).stdout == reference)
            }
        }
    }

    /// Stored ids and rejected fields reach the terminal escaped, and a long field cut.
    @Test func controlCharactersNeverReachTheTerminal() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/db"
            let hostile = #"{"type":"message","id":"m1","business":"b","customer":"\u001b[31mred\u0000\nforged line","direction":"in","at":1751364000000}"#
            let long = #"{"type":"message","id":"m2","business":"b","customer":"c","direction":""# + String(repeating: "Z", count: 500_000) + #"","at":1}"#
            let run = try convostore(["import", "--db", db, "--rejects", dir + "/r", "-"], stdin: .text(hostile + "\n" + long + "\n"), in: dir)
            #expect(run.status == 1)
            #expect(!run.stderr.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0 })
            #expect(run.stderr.utf8.count < 2000, "a 500 KB field was echoed")
            #expect(run.stderr.contains("-:2: direction: \"ZZZZ"))
            let table = try convostore(["windows", "--db", db, "--from", "0", "--to", "2030-01-01T00:00:00Z"])
            #expect(table.status == 0)
            #expect(table.stdout.contains(#"\u{1B}[31mred\u{0}\u{A}forged line"#), "\(table.stdout)")
            #expect(table.stdout.split(separator: "\n").count == 2)
            #expect(!table.stdout.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0 })
            let json = try convostore(["windows", "--db", db, "--from", "0", "--to", "2030-01-01T00:00:00Z", "--json"])
            #expect(json.jsonLines.first?["customer"] as? String == "\u{1B}[31mred\u{0}\nforged line")
        }
    }

    /// A read command on a path that is not a store's directory says what it is.
    @Test func aPathThatIsNoStoreSaysWhy() throws {
        try withTemporaryDirectory { dir in
            let file = dir + "/a-file"
            try "x".write(toFile: file, atomically: true, encoding: .utf8)
            let notDir = try convostore(["overdue", "--db", file, "--as-of", "0"])
            #expect(notDir.status == 2)
            #expect(notDir.stderr == "error: \(file) is not a directory (--db names a store's directory)\n")
            let missing = try convostore(["stats", "--db", dir + "/nothing"])
            #expect(missing.status == 2)
            #expect(missing.stderr.contains("no store at"))
        }
    }

    /// `windows` and `newly-overdue` take `--limit` like `overdue`.
    @Test func everyScanTakesALimit() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/db"
            let lines = (0..<5).map { #"{"type":"message","id":"m\#($0)","business":"b","customer":"c\#($0)","direction":"in","at":\#(1751364000000 + $0)}"# }
            #expect(try convostore(["import", "--db", db, "-"], stdin: .text(lines.joined(separator: "\n")), in: dir).status == 0)
            for args in [["windows", "--from", "0", "--to", "2030-01-01T00:00:00Z"], ["newly-overdue", "--after", "0", "--until", "2030-01-01T00:00:00Z"],
                         ["overdue", "--as-of", "2030-01-01T00:00:00Z"]] {
                let limited = try convostore([args[0], "--db", db] + args.dropFirst() + ["--limit", "2", "--json"])
                #expect(limited.status == 0 && limited.jsonLines.count == 2, "\(args)")
                #expect(try convostore([args[0], "--db", db] + args.dropFirst() + ["--limit", "-1"]).status == 2)
            }
        }
    }

    /// Standard input is `-` in every message, and an import from it keeps its rejects beside it.
    @Test func standardInputIsNamedDash() throws {
        try withTemporaryDirectory { dir in
            let run = try convostore(["import", "--db", dir + "/db", "-"], stdin: .text(oneMessage + "\nnot json\n"), in: dir)
            #expect(run.status == 1)
            #expect(run.stderr.contains("-:2: invalid JSON at column 1"))
            #expect(run.stderr.contains("-: read 2 lines"))
            #expect(FileManager.default.fileExists(atPath: dir + "/stdin.rejects"))
        }
    }
}

@Suite struct DamagedStores {
    /// Bytes flipped anywhere in a store's data file: `check` and `export` report or refuse, and never
    /// die of a signal inside liblmdb (LMDB does not check its pages; the page verifier runs first).
    @Test func checkAndExportNeverCrashOnADamagedFile() throws {
        try withTemporaryDirectory { dir in
            let healthy = dir + "/healthy"
            #expect(try convostore(["import", "--db", healthy, "--quiet", "-"], stdin: .text(GeneratedDump.withMalformedLines(lines: 3000)), in: dir).status == 1)
            let original = try Data(contentsOf: URL(fileURLWithPath: healthy + "/data.mdb"))
            var generator = SystemRandomNumberGenerator()
            var reported = 0
            for trial in 0..<25 {
                let db = dir + "/damaged-\(trial)"
                try FileManager.default.createDirectory(atPath: db, withIntermediateDirectories: false)
                var bytes = original
                for _ in 0..<3 {
                    let at = Int.random(in: 0..<bytes.count, using: &generator)
                    bytes[at] ^= UInt8.random(in: 1...255, using: &generator)
                }
                try bytes.write(to: URL(fileURLWithPath: db + "/data.mdb"))
                for command in [["check"], ["export"]] {
                    let run = try convostore(command + ["--db", db])
                    #expect(run.reason == .exit, "trial \(trial): \(command[0]) died of signal \(run.status): \(run.stderr.suffix(400))")
                    if command == ["check"] && run.status != 0 { reported += 1 }
                }
                try FileManager.default.removeItem(atPath: db)
            }
            // Flips in free space or in value bytes can pass unnoticed; most in page structure do not.
            #expect(reported > 0)
        }
    }
}
