import Foundation
import TestSupport
import Testing

/// A small native dump: two businesses, a status, a control, and an entry point.
let dump = """
{"type":"message","id":"wamid.1","business":"15550001111","customer":"447700900123","direction":"in","at":1751364000000,"kind":"text","body":"hello","entry_point":{"source":"ad","id":"120200000"}}
{"type":"message","id":"wamid.2","business":"15550001111","customer":"447700900123","direction":"out","at":"2025-07-01T10:05:00Z","kind":"template","category":"utility"}
{"type":"status","business":"15550001111","id":"wamid.2","status":"read","at":1751364400000}
{"type":"control","business":"15550001111","customer":"447700900123","by":"customer","action":"marketing_opt_out","at":1751365000000}
{"type":"message","id":"wamid.3","business":"15550001111","customer":"447700900999","direction":"in","at":1751364000000}
{"type":"message","id":"wamid.4","business":"15550002222","customer":"447700900999","direction":"out","at":1751364000000,"kind":"template","category":"marketing"}
{"type":"message","id":"wamid.5","business":"15550002222","customer":"447700900999","direction":"in","at":1751364000001}
{"type":"message","id":"wamid.6","business":"15550002222","customer":"447700900999","direction":"out","at":1751364000002,"kind":"template","category":"marketing"}

"""

@Suite(.serialized) struct CommandLine {
    @Test func importQueriesAndExitStatuses() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/db"
            let file = dir + "/dump.jsonl"
            try (dump + "not json\n{\"type\":\"message\",\"id\":\"x\"}\n").write(toFile: file, atomically: true, encoding: .utf8)

            let imported = try convostore(["import", "--db", db, file])
            #expect(imported.status == 1)
            #expect(imported.stderr.contains("dump.jsonl:9: invalid JSON at column 1"))
            #expect(imported.stderr.contains("dump.jsonl:10: direction: required field missing"))
            #expect(imported.stderr.contains("read 10 lines: imported 8, duplicates skipped 0, blank/header skipped 0, rejected 2"))
            #expect(try String(contentsOfFile: file + ".rejects", encoding: .utf8) == "not json\n{\"type\":\"message\",\"id\":\"x\"}\n")

            let again = try convostore(["import", "--db", db, "-"], stdin: .text(dump), in: dir)
            #expect(again.status == 0)
            #expect(again.stderr.contains("imported 0, duplicates skipped 8"))

            let overdue = try convostore(["overdue", "--db", db, "--as-of", "2025-07-02T10:00:00Z", "--json"])
            #expect(overdue.status == 0)
            #expect(overdue.jsonLines.count == 1)
            #expect(overdue.jsonLines.first?["customer"] as? String == "447700900999")
            #expect(overdue.jsonLines.first?["reply_due_at"] as? Int == 1_751_450_400_000)
            let table = try convostore(["overdue", "--db", db, "--as-of", "1751450400000"])
            #expect(table.stdout.contains("2025-07-02T10:00:00Z"))

            let newly = try convostore(["newly-overdue", "--db", db, "--after", "1751450399999", "--until", "1751450400000", "--json"])
            #expect(newly.jsonLines.count == 1)
            let none = try convostore(["newly-overdue", "--db", db, "--after", "1751450400000", "--until", "1751450500000", "--json"])
            #expect(none.stdout.isEmpty)

            let windows = try convostore(["windows", "--db", db, "--from", "1751450400000", "--to", "1751450400002", "--json"])
            #expect(windows.jsonLines.map { $0["business"] as? String } == ["15550001111", "15550001111", "15550002222"])
            let oneBusiness = try convostore(["windows", "--db", db, "--from", "0", "--to", "2030-01-01T00:00:00Z", "--business", "15550002222", "--json"])
            #expect(oneBusiness.jsonLines.count == 1)

            let show = try convostore(["show", "--db", db, "--business", "15550001111", "--customer", "447700900123", "--at", "2025-07-02T09:59:59.999Z", "--json"])
            let state = show.jsonLines.first
            #expect(state?["window_open"] as? Bool == true)
            #expect(state?["can_send_freeform"] as? Bool == true)
            #expect(state?["marketing_opt_out"] as? Bool == true)
            #expect(state?["messages_out"] as? Int == 1)
            #expect(state?.keys.contains("waiting_since") == true)
            let closed = try convostore(["show", "--db", db, "--business", "15550001111", "--customer", "447700900123", "--at", "2025-07-02T10:00:00Z", "--json"])
            #expect(closed.jsonLines.first?["window_open"] as? Bool == false)
            let unknown = try convostore(["show", "--db", db, "--business", "nobody", "--customer", "447700900123"])
            #expect(unknown.status == 1)
            #expect(unknown.stderr.contains("no conversation"))

            let billing = try convostore(["billing", "--db", db, "--business", "15550002222", "--json"])
            let bill = billing.jsonLines.first
            #expect((bill?["charged"] as? [String: Int])?["marketing"] == 1)
            #expect((bill?["violations"] as? [String: Int])?["no_opt_in"] == 1)
            #expect(bill?["amount_micros"] as? Int == 25_000)
            let windowed = try convostore(["billing", "--db", db, "--business", "15550002222", "--from", "1751364000001", "--to", "1751364000002", "--json"])
            #expect(windowed.jsonLines.first?["amount_micros"] as? Int == 0)
            #expect(windowed.jsonLines.first?["from"] as? Int == 1_751_364_000_001)

            let check = try convostore(["check", "--db", db])
            #expect(check.status == 0)
            #expect(check.stdout.contains("ok"))
            let stats = try convostore(["stats", "--db", db, "--json"])
            #expect(stats.jsonLines.first?["conversations"] as? Int == 3)
        }
    }

    @Test func badUsageAndMissingStoresExitTwo() throws {
        try withTemporaryDirectory { dir in
            #expect(try convostore(["overdue", "--db", dir + "/none", "--as-of", "0"]).status == 2)
            #expect(try convostore(["overdue", "--db", dir, "--as-of", "yesterday"]).status == 2)
            #expect(try convostore(["frobnicate"]).status == 2)
            let strict = try convostore(["import", "--db", dir + "/s", "--strict", "-"], stdin: .text("{\"type\":\"status\"}\n" + dump), in: dir)
            #expect(strict.status == 1)
            #expect(strict.stderr.contains("-:1: status: required field missing"))
            #expect(try convostore(["stats", "--db", dir + "/s", "--json"]).jsonLines.first?["messages"] as? Int == 0)
        }
    }

    @Test func exportRoundTripsByteForByte() throws {
        try withTemporaryDirectory { dir in
            _ = try convostore(["import", "--db", dir + "/a", "-"], stdin: .text(dump), in: dir)
            let first = try convostore(["export", "--db", dir + "/a"])
            #expect(first.status == 0)
            #expect(first.stdout.hasPrefix("{\"convostore_dump\":1}\n"))
            let copy = try convostore(["import", "--db", dir + "/b", "-"], stdin: .text(first.stdout), in: dir)
            #expect(copy.status == 0)
            let second = try convostore(["export", "--db", dir + "/b", "--output", dir + "/b.jsonl"])
            #expect(second.status == 0)
            #expect(try String(contentsOfFile: dir + "/b.jsonl", encoding: .utf8) == first.stdout)
        }
    }
}
