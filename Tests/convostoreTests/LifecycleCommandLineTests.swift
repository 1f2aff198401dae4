import ConvoStore
import Foundation
import TestSupport
import Testing

// R9's commands as an operator runs them (contract: purge, retention, erase, backup, compact), above
// all their refusals: each a clear error, and nothing lost.

@Suite(.serialized) struct LifecycleCommandLine {
    /// A store of `dump` (CommandLineTests.swift) and its export, to compare against after a refusal.
    private func store(in dir: String) throws -> (db: String, export: String) {
        let db = dir + "/db"
        let imported = try convostore(["import", "--db", db, "-"], stdin: .text(dump), in: dir)
        #expect(imported.status == 0, "\(imported.stderr)")
        return (db, try convostore(["export", "--db", db]).stdout)
    }

    @Test func purgeSaysWhatItDidAndRefusesTheFuture() throws {
        try withTemporaryDirectory { dir in
            let (db, before) = try self.store(in: dir)
            let future = try convostore(["purge", "--db", db, "--before", "2999-01-01T00:00:00Z"])
            #expect(future.status == 1)
            #expect(future.stderr.contains("error: before: 2999-01-01T00:00:00Z is in the future"), "\(future.stderr)")
            #expect(try convostore(["export", "--db", db]).stdout == before, "a refused purge changed the store")

            let purged = try convostore(["purge", "--db", db, "--before", "2025-07-01T10:04:00Z"])
            #expect(purged.status == 0)
            #expect(purged.stderr.contains("purged before 2025-07-01T10:04:00Z (the store): 5 messages, 0 controls in 3 conversations"), "\(purged.stderr)")
            let again = try convostore(["purge", "--db", db, "--before", "2025-07-01T09:00:00Z"])
            #expect(again.status == 0)
            #expect(again.stderr.contains("nothing to purge: the store already has the horizon 2025-07-01T10:04:00Z, not before 2025-07-01T09:00:00Z"), "\(again.stderr)")

            // An import line before the horizon is kept aside with the contract's reason.
            let late = #"{"type":"message","id":"late.1","business":"15550001111","customer":"447700900123","direction":"in","at":"2025-07-01T10:00:00Z"}"#
            let rejected = try convostore(["import", "--db", db, "-"], stdin: .text(late + "\n"), in: dir)
            #expect(rejected.status == 1)
            #expect(rejected.stderr.hasPrefix("-:1: before the retention horizon 2025-07-01T10:04:00Z\n"), "\(rejected.stderr)")
            #expect(try String(contentsOfFile: dir + "/stdin.rejects", encoding: .utf8) == late + "\n")
        }
    }

    @Test func retentionIsKeptInTheStore() throws {
        try withTemporaryDirectory { dir in
            let (db, _) = try self.store(in: dir)
            #expect(try convostore(["retention", "--db", db, "--json"]).stdout == "{\"retention_ms\":null}\n")
            let set = try convostore(["retention", "--db", db, "--set", "30d", "--json"])
            #expect(set.status == 0 && set.stdout == "{\"retention_ms\":2592000000}\n", "\(set.stderr)")
            #expect(try convostore(["stats", "--db", db, "--json"]).stdout.contains("\"retention_ms\":2592000000"))
            for bad in ["10s", "30 days", "-1d", "d"] {
                let refused = try convostore(["retention", "--db", db, "--set", bad])
                #expect(refused.status != 0, "--set \(bad)")
                #expect(refused.stderr.hasPrefix("error:"), "--set \(bad): \(refused.stderr)")
            }
            #expect(try convostore(["retention", "--db", db, "--json"]).stdout == "{\"retention_ms\":2592000000}\n")
            #expect(try convostore(["retention", "--db", db, "--set", "off", "--json"]).stdout == "{\"retention_ms\":null}\n")
        }
    }

    @Test func eraseOfAnUnknownCustomerIsAProblemThatChangesNothing() throws {
        try withTemporaryDirectory { dir in
            let (db, before) = try self.store(in: dir)
            let unknown = try convostore(["erase", "--db", db, "--customer", "447700900000"])
            #expect(unknown.status == 1)
            #expect(unknown.stderr.contains("error: no conversation or link names the customer \"447700900000\""), "\(unknown.stderr)")
            #expect(try convostore(["export", "--db", db]).stdout == before)

            let erased = try convostore(["erase", "--db", db, "--customer", "447700900999"])
            #expect(erased.status == 0, "\(erased.stderr)")
            #expect(erased.stderr.contains("erased \"447700900999\": 2 conversations"), "\(erased.stderr)")
            #expect(!(try convostore(["export", "--db", db]).stdout.contains("447700900999")))
            let show = try convostore(["show", "--db", db, "--business", "15550002222", "--customer", "447700900999"])
            #expect(show.status == 1)
        }
    }

    /// `upgrade` killed with SIGKILL at moments spread over its run: whatever it left opens as format 2
    /// (refused, nothing lost) or as a whole format-3 store, and running the upgrade again ends with
    /// the store an uninterrupted upgrade makes, byte for byte in its export, and no work directory.
    @Test func anUpgradeKilledAtAnyMomentIsNotStartedOrFinishedByARerun() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("ConvoStoreTests/Fixtures/format2/store/data.mdb").path
        try withTemporaryDirectory { dir in
            func formatTwoCopy(_ name: String) throws -> String {
                let db = dir + "/" + name
                try FileManager.default.createDirectory(atPath: db, withIntermediateDirectories: false)
                try FileManager.default.copyItem(atPath: fixture, toPath: db + "/data.mdb")
                return db
            }
            let reference = try formatTwoCopy("reference")
            let started = Date()
            #expect(try convostore(["upgrade", "--db", reference]).status == 0)
            let uninterrupted = Date().timeIntervalSince(started)
            let expected = try convostore(["export", "--db", reference]).stdout
            #expect(expected.split(separator: "\n").count > 400)
            for (n, share) in [0.0, 0.1, 0.25, 0.4, 0.55, 0.7, 0.85, 1.0].enumerated() {
                let db = try formatTwoCopy("killed\(n)")
                let child = try startConvostore(["upgrade", "--db", db])
                Thread.sleep(forTimeInterval: uninterrupted * share)
                child.send(SIGKILL)
                _ = child.waitUntilExit()
                let left = try convostore(["export", "--db", db])
                if left.status == 0 {
                    #expect(left.stdout == expected, "killed at \(share): a format-3 store that is not whole")
                } else {
                    #expect(left.stderr.contains("format 2"), "killed at \(share): \(left.stderr)")
                }
                let rerun = try convostore(["upgrade", "--db", db])
                #expect(rerun.status == 0, "\(rerun.stderr)")
                #expect(try convostore(["export", "--db", db]).stdout == expected, "killed at \(share), upgraded again")
                #expect(try convostore(["check", "--db", db]).status == 0)
                #expect(try FileManager.default.contentsOfDirectory(atPath: db).sorted() == ["data.mdb", "lock.mdb"], "killed at \(share)")
            }
        }
    }

    @Test func backupAndCompactRefuseWhatWouldLoseData() throws {
        try withTemporaryDirectory { dir in
            let (db, before) = try self.store(in: dir)
            // A backup into a directory that holds something: refused, the file there untouched.
            let full = dir + "/full"
            try FileManager.default.createDirectory(atPath: full, withIntermediateDirectories: false)
            try "keep me".write(toFile: full + "/notes.txt", atomically: true, encoding: .utf8)
            let refused = try convostore(["backup", "--db", db, "--to", full])
            #expect(refused.status != 0)
            #expect(refused.stderr.hasPrefix("error:") && refused.stderr.contains("not empty"), "\(refused.stderr)")
            #expect(try String(contentsOfFile: full + "/notes.txt", encoding: .utf8) == "keep me")

            // A backup opens as a store, as it is, and answers as the store does.
            let backup = try convostore(["backup", "--db", db, "--to", dir + "/copy", "--compact"])
            #expect(backup.status == 0, "\(backup.stderr)")
            #expect(try convostore(["export", "--db", dir + "/copy"]).stdout == before)
            #expect(try convostore(["check", "--db", dir + "/copy"]).status == 0)

            // Compaction while another process (this one) has the store open: refused, nothing lost.
            do {
                let open = try ConvoStore.open(at: db)
                defer { open.close() }
                let busy = try convostore(["compact", "--db", db])
                #expect(busy.status != 0)
                #expect(busy.stderr.hasPrefix("error:") && busy.stderr.contains("open in another process"), "\(busy.stderr)")
            }
            #expect(try convostore(["export", "--db", db]).stdout == before)
            let compacted = try convostore(["compact", "--db", db])
            #expect(compacted.status == 0, "\(compacted.stderr)")
            #expect(try convostore(["export", "--db", db]).stdout == before)
        }
    }
}
