import ConvoStore
import Foundation
import TestSupport
import Testing

// Issue 11: what a hostile or careless input did wrong once, each a test that failed before its fix.

/// One native message line.
private func line(_ id: String, at: Int64, customer: String = "c", body: String = "x") -> String {
    NativeDump.line(Message(id: id, business: "b", customer: customer, direction: .inbound, at: at, body: Array(body.utf8)))
}

/// Imports `path` into `store` with `options`, collecting the reports.
private func importFile(_ path: String, into store: ConvoStore, _ configure: (inout ImportOptions) -> Void = { _ in }) throws -> (ImportSummary, [String]) {
    var options = ImportOptions()
    configure(&options)
    var reports: [String] = []
    let summary = try DumpImporter(store: store, options: options) { reports.append($0) }.importFile(path)
    return (summary, reports)
}

private func exportLines(_ store: ConvoStore) throws -> [String] {
    var lines: [String] = []
    try store.export { lines.append($0) }
    return lines
}

@Suite struct ResumeNeverSkipsData {
    /// A file regenerated at the same path, equal in its first 64 KiB and different after, is not
    /// "resumed" at the old offset: it is imported from the start, and the store has all of it.
    @Test func aRegeneratedFileIsImportedFromTheStart() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/copy.jsonl"
            let head = (0..<2000).map { line("m\($0)", at: Int64($0)) }
            try (head.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let store = try ConvoStore.open(at: dir + "/store")
            defer { store.close() }
            #expect(try importFile(path, into: store).0.imported == 2000)

            // A new export of a grown store: the same first lines, then other, longer ones.
            let grown = head + (0..<3000).map { line("n\($0)", at: Int64(5000 + $0), body: String(repeating: "y", count: $0 % 50)) }
            try (grown.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let (summary, reports) = try importFile(path, into: store)
            #expect(summary.resumedAfterLine == 2000)
            #expect(summary.linesReadThisRun == 3000)
            #expect(summary.rejected == 0)
            #expect(summary.imported == 5000, "the whole import's count")

            // Now the same size and first bytes, but a line in the middle edited: not resumable.
            var edited = grown
            edited[2501] = line("n501", at: 5501, body: "z")  // was "y": same length
            try (edited.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let (again, notes) = try importFile(path, into: store)
            #expect(again.resumedAfterLine == 0, "resumed a file whose bytes before the checkpoint changed")
            #expect(notes.contains { $0.contains("not the one an earlier import's checkpoint covers") }, "\(notes)")
            #expect(again.rejected == 1, "the edited line conflicts with the recorded one: \(notes)")
            #expect(reports.isEmpty)

            let reference = try ConvoStore.open(at: dir + "/reference")
            defer { reference.close() }
            try (grown.joined(separator: "\n") + "\n").write(toFile: dir + "/reference.jsonl", atomically: true, encoding: .utf8)
            _ = try importFile(dir + "/reference.jsonl", into: reference)
            #expect(try exportLines(store) == exportLines(reference))
        }
    }

    /// --strict stops at a bad line having committed nothing of it and no checkpoint past it: fixed
    /// in place, the same import goes on from it.
    @Test func aStrictStopResumesAtTheFixedLine() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/dump.jsonl"
            var lines = (0..<12).map { line("m\($0)", at: Int64($0)) }
            lines[7] = #"{"type":"message","id":"m7","business":"b"}"#
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let store = try ConvoStore.open(at: dir + "/store")
            defer { store.close() }
            let (stopped, reports) = try importFile(path, into: store) { $0.strict = true; $0.linesPerCommit = 5 }
            #expect(stopped.stoppedEarly)
            #expect(stopped.imported == 7)
            #expect(stopped.rejected == 1)
            #expect(reports == ["\(path):8: direction: required field missing"])

            lines[7] = line("m7", at: 7)
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let (fixed, _) = try importFile(path, into: store) { $0.strict = true; $0.linesPerCommit = 5 }
            #expect(fixed.resumedAfterLine == 7)
            #expect(fixed.rejected == 0)
            #expect(fixed.imported == 12)
            #expect(try store.history(business: "b", customer: "c", limit: 100).count == 12)
        }
    }

    /// --max-rejects 0 on a clean dump imports all of it and does not stop.
    @Test func maxRejectsZeroOnACleanDumpImportsEverything() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/dump.jsonl"
            try ((0..<12_000).map { line("m\($0)", at: Int64($0), customer: "c\($0 % 100)") }.joined(separator: "\n") + "\n")
                .write(toFile: path, atomically: true, encoding: .utf8)
            let store = try ConvoStore.open(at: dir + "/store")
            defer { store.close() }
            let (summary, _) = try importFile(path, into: store) { $0.maxRejects = 0 }
            #expect(!summary.stoppedEarly)
            #expect(summary.imported == 12_000)
        }
    }

    /// A webhook delivery is one unit: when one of its events is rejected, none is recorded, with
    /// --strict or without.
    @Test(arguments: [false, true]) func aDeliveryIsRecordedWholeOrNotAtAll(strict: Bool) throws {
        try withTemporaryDirectory { dir in
            func delivery(_ messages: [(id: String, body: String)]) -> String {
                let items = messages.map { #"{"from":"447700900123","id":"\#($0.id)","timestamp":"1751373000","type":"text","text":{"body":"\#($0.body)"}}"# }
                return #"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1555"},"messages":[\#(items.joined(separator: ","))]}}]}]}"#
            }
            let path = dir + "/archive.jsonl"
            try [delivery([("wamid.1", "hello")]), delivery([("wamid.2", "new"), ("wamid.1", "other content"), ("wamid.3", "new too")])]
                .joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let store = try ConvoStore.open(at: dir + "/store")
            defer { store.close() }
            let (summary, reports) = try importFile(path, into: store) { $0.format = .webhook; $0.strict = strict }
            #expect(summary.imported == 1)
            #expect(summary.rejected == 1)
            #expect(reports.count == 1 && reports[0].hasPrefix("\(path):2: message id \"wamid.1\""))
            let ids = try store.history(business: "1555", customer: "447700900123", limit: 10).map(\.message.id)
            #expect(ids == ["wamid.1"], "the delivery's other messages were committed: \(ids)")
            try expectHealthy(store)
        }
    }
}

@Suite struct InputEdges {
    /// A line of exactly the limit is accepted with `\n` and with `\r\n`; a byte order mark at the
    /// start of a file is skipped.
    @Test func aLineOfExactlyTheLimitAndAByteOrderMark() throws {
        try withTemporaryDirectory { dir in
            let limit = 4096
            let short = line("a", at: 1)
            let padding = String(repeating: " ", count: limit - short.utf8.count)
            let exact = short.dropLast() + padding + "}"  // JSON allows the spaces before the brace
            #expect(exact.utf8.count == limit)
            let path = dir + "/dump.jsonl"
            let text = "\u{FEFF}" + line("first", at: 0) + "\r\n" + exact + "\r\n" + exact.replacingOccurrences(of: "\"a\"", with: "\"b\"") + "\n"
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let store = try ConvoStore.open(at: dir + "/store")
            defer { store.close() }
            let (summary, reports) = try importFile(path, into: store) { $0.maxLineBytes = limit }
            #expect(reports.isEmpty, "\(reports)")
            #expect(summary.imported == 3)
        }
    }

    /// A rejected line over the limit is kept whole (unchanged) in the rejects file, streamed.
    @Test func anOverLongLineIsKeptWholeInTheRejectsFile() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/dump.jsonl"
            let long = #"{"type":"message","body":""# + String(repeating: "x", count: 3 << 20) + #""}"#
            try [line("a", at: 1), long, line("z", at: 2)].joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let store = try ConvoStore.open(at: dir + "/store")
            defer { store.close() }
            let (summary, reports) = try importFile(path, into: store)
            #expect(summary.imported == 2)
            #expect(summary.rejected == 1)
            #expect(reports == ["\(path):2: line of \(long.utf8.count) bytes, over the limit of \(1 << 20) (kept whole in the rejects file)"])
            #expect(try String(contentsOfFile: path + ".rejects", encoding: .utf8) == long + "\n")
        }
    }

    /// The rejects file is never written through a link, nor an existing one replaced silently.
    @Test func theRejectsFileIsNeverALinkNorReplaced() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/dump.jsonl"
            try [line("a", at: 1), "not json"].joined(separator: "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let target = dir + "/precious.txt"
            try "keep me".write(toFile: target, atomically: true, encoding: .utf8)
            try FileManager.default.createSymbolicLink(atPath: path + ".rejects", withDestinationPath: target)
            let store = try ConvoStore.open(at: dir + "/store")
            defer { store.close() }
            #expect(throws: ConvoStoreError.self) { try importFile(path, into: store) }
            #expect(try String(contentsOfFile: target, encoding: .utf8) == "keep me")

            try FileManager.default.removeItem(atPath: path + ".rejects")
            try "an earlier import's rejects\n".write(toFile: path + ".rejects", atomically: true, encoding: .utf8)
            do {
                _ = try importFile(path, into: store)
                Issue.record("an existing rejects file was used")
            } catch let error as ConvoStoreError {
                #expect(error.description.contains("already exists"))
            }
            #expect(try String(contentsOfFile: path + ".rejects", encoding: .utf8) == "an earlier import's rejects\n")
        }
    }

    /// Duplicate keys, and a body given twice, are rejected with their reason.
    @Test func ambiguousLinesAreRejected() {
        func reason(_ text: String) -> String? {
            do {
                _ = try NativeDump.parse(text)
                return nil
            } catch {
                return error.reason
            }
        }
        #expect(reason(#"{"type":"message","id":"a","id":"b","business":"b","customer":"c","direction":"in","at":1}"#)?.contains(#"duplicate field "id""#) == true)
        let wide = "{" + (0..<20).map { "\"k\($0)\":1" }.joined(separator: ",") + ",\"k3\":2}"
        #expect(reason(wide)?.contains(#"duplicate field "k3""#) == true)
        #expect(reason(#"{"type":"message","id":"a","business":"b","customer":"c","direction":"in","at":1,"body":"x","body_b64":"eA=="}"#)
            == "body_b64: a message has body or body_b64, not both")
    }

    /// Rejected fields are echoed escaped and cut: no terminal control, no 500 KB message.
    @Test func echoedFieldsAreEscapedAndCut() throws {
        let hostile = "\u{1B}[31mred\u{0}\n" + String(repeating: "A", count: 500_000)
        var w = JSONWriter()
        w.beginObject()
        w.field("type", "message")
        w.field("id", "a")
        w.field("business", "b")
        w.field("customer", "c")
        w.field("direction", hostile)
        w.field("at", Int64(1))
        w.endObject()
        do {
            _ = try NativeDump.parse(w.string)
            Issue.record("accepted")
        } catch {
            #expect(error.reason.hasPrefix(#"direction: "\u{1B}[31mred\u{0}\u{A}AAA"#))
            #expect(error.reason.utf8.count < 300)
            #expect(!error.reason.unicodeScalars.contains { $0.value < 0x20 })
        }
    }
}

@Suite struct QueriesTakeAnyTime {
    /// Any Int64 time is a valid query: clamped to the range stored times can take, never a trap.
    @Test func extremeTimesAnswerWithoutOverflow() throws {
        try withStore { store in
            _ = try store.record([inbound("m1", t0), outbound("m2", t0 + hour), inbound("m3", t0 + 2 * hour)])
            let late = try store.overdue(asOf: t0 + 10 * day)
            #expect(late.count == 1)
            #expect(try store.overdue(asOf: .max) == late)
            #expect(try store.overdue(asOf: .max, business: "b") == late)
            #expect(try store.overdue(asOf: .min).isEmpty)
            #expect(try store.newlyOverdue(after: .min, until: .max) == late)
            #expect(try store.newlyOverdue(after: .max - 1, until: .max).isEmpty)
            #expect(try store.windowsClosing(from: .min, to: .max).count == 1)
            #expect(try store.windowsClosing(from: .min, to: .max, business: "b").count == 1)
            #expect(try store.billing(business: "b", from: .min, to: .max).free == 1)
            #expect(try store.read { try $0.countOverdue(asOf: .max) } == 1)
            #expect(try store.conversation(business: "b", customer: "c", at: .max)?.windowOpen == false)
            #expect(try store.checkSend(business: "b", customer: "c", at: .max) == .violation(.outsideWindow))
        }
    }
}
