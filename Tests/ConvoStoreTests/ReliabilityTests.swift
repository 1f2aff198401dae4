import ConvoStore
import Foundation
import LMDB
import Logging
import Synchronization
import TestSupport
import Testing

// Reliability: concurrency, map growth, disk full, corrupted records, bounded input, bodies kept out
// of errors and logs. The crash-consistency harness is scripts/crash-test.sh (Tools/), the fuzzers
// scripts/fuzz.sh (Fuzz/); docs/reliability.md says what each shows.

@Suite(.serialized) struct Reliability {
    // MARK: Concurrency

    /// 8 reader threads check on every read that each conversation written only in whole
    /// inbound+reply pairs has messagesIn == messagesOut == its history's halves, while 32 tasks
    /// submit pairs through the group commit and a second process imports a dump into the same store.
    @Test func readersSeeWholeTransactionsUnderConcurrentWriters() async throws {
        try await withTemporaryDirectory { dir in
            let db = dir + "/store"
            let dumpPath = dir + "/dump.jsonl"
            try GeneratedDump.replyPairs(lines: 20_000, business: "import-b").write(toFile: dumpPath, atomically: true, encoding: .utf8)
            let store = try ConvoStore.open(at: db)
            defer { store.close() }
            _ = try await store.submit(pair(task: 0, number: 0))  // the store exists before the second process opens it
            let activeBefore = try activeReaderSlots(db)

            let readers = ReaderThreads(count: 8, store: store) { reader in
                for slot in 0..<pairConversations {
                    guard let state = try reader.conversation(business: "pairs", customer: "c\(slot)", at: t0 + 1_000 * day) else { continue }
                    let history = try reader.history(business: "pairs", customer: "c\(slot)", limit: .max)
                    let inbound = history.filter { $0.message.direction == .inbound }.count
                    if state.messagesIn != state.messagesOut || history.count != state.messagesIn + state.messagesOut || inbound != state.messagesIn {
                        return "c\(slot): messagesIn \(state.messagesIn), messagesOut \(state.messagesOut), history \(history.count) (\(inbound) inbound)"
                    }
                }
                return nil
            }
            let importer = try startConvostore(["import", "--quiet", "--db", db, dumpPath])

            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<32 {
                    group.addTask {
                        for number in 0..<25 {
                            let results = try await store.submit(pair(task: task, number: number))
                            #expect(results.allSatisfy { $0 == .recorded || $0 == .duplicate }, "\(results)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            let imported = await importer.wait()
            let (reads, errors) = await readers.stop()

            #expect(imported.status == 0, "convostore import: \(imported.stderr)")
            #expect(errors.isEmpty, "\(errors.prefix(5))")
            #expect(reads > 0)
            #expect(try activeReaderSlots(db) == activeBefore)
            let report = try store.check()
            #expect(report.isHealthy, "\(report.problems)")
            let messages = try store.statistics().messages
            #expect(messages == 2 * 32 * 25 + 20_000)  // the first pair is submitted twice
        }
    }

    // MARK: Resources

    /// A store opened with a 64 KiB map takes megabytes from concurrent submitters while readers
    /// read: the map doubles as needed and no caller sees MDB_MAP_FULL.
    @Test func mapGrowsUnderSustainedLoad() async throws {
        try await withTemporaryDirectory { dir in
            var options = StoreOptions()
            options.initialMapSize = 64 << 10
            options.durabilityOverride = .unsafeNoSync  // the map, not the disk, is under test
            let store = try ConvoStore.open(at: dir + "/store", options: options)
            defer { store.close() }
            let readers = ReaderThreads(count: 2, store: store) { reader in
                _ = try reader.overdue(asOf: t0 + 1_000 * day, limit: 10)
                return nil
            }
            let body = [UInt8](repeating: 0x42, count: 2_048)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for task in 0..<16 {
                    group.addTask {
                        for number in 0..<40 {
                            var events = pair(task: task, number: number)
                            for (i, event) in events.enumerated() {
                                if case .message(var message) = event { message.body = body; events[i] = .message(message) }
                            }
                            let results = try await store.submit(events)
                            #expect(results.allSatisfy { $0 == .recorded }, "\(results)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            for number in 0..<100 {  // the synchronous path too
                _ = try store.record(pair(task: 99, number: number).map { event in
                    guard case .message(var message) = event else { return event }
                    message.body = body
                    return .message(message)
                })
            }
            let (_, errors) = await readers.stop()
            #expect(errors.isEmpty, "\(errors.prefix(5))")
            let statistics = try store.statistics()
            #expect(statistics.mapSize > 64 << 10)
            #expect(statistics.messages == 2 * (16 * 40 + 100))
            #expect(try store.check().isHealthy)
        }
    }

    /// An import under RLIMIT_FSIZE fails with a clear error (not a signal), leaves every earlier
    /// commit intact, and once the limit is gone the same import resumes and ends like an
    /// uninterrupted one.
    @Test func diskFullIsAClearErrorAndRecoverable() throws {
        try withTemporaryDirectory { dir in
            let cli = convostorePath
            let first = dir + "/first.jsonl"
            let second = dir + "/second.jsonl"
            try GeneratedDump.replyPairs(lines: 600, business: "first").write(toFile: first, atomically: true, encoding: .utf8)
            try GeneratedDump.replyPairs(lines: 12_000, business: "second", bodyBytes: 300).write(toFile: second, atomically: true, encoding: .utf8)

            // The reference: both imports without any limit.
            #expect(try convostore(["import", "--quiet", "--db", dir + "/reference", first, second]).status == 0)
            let reference = try convostore(["export", "--db", dir + "/reference"]).stdout

            let db = dir + "/store"
            #expect(try convostore(["import", "--quiet", "--db", db, first]).status == 0)
            let before = try convostore(["export", "--db", db]).stdout
            let dataSize = try FileManager.default.attributesOfItem(atPath: db + "/data.mdb")[.size] as! Int
            // dash counts `ulimit -f` in 512-byte blocks: room for the file as it is and 256 KiB more.
            let blocks = (dataSize + (256 << 10)) / 512
            let limited = try runProcess("/bin/sh", [
                "-c", "trap '' XFSZ; ulimit -f \(blocks) && exec \"$0\" import --quiet --db \"$1\" \"$2\"", cli, db, second,
            ])
            #expect(limited.reason == .exit, "killed by signal \(limited.status): SIGXFSZ must be ignored")
            #expect(limited.status != 0)
            #expect(limited.stderr.contains("the file size limit was reached") && limited.stderr.contains("earlier commits are intact"), "stderr: \(limited.stderr)")
            print("disk full: convostore import said: \(limited.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")

            // Every earlier commit is intact and the store is consistent.
            #expect(try convostore(["check", "--db", db]).status == 0)
            let after = try convostore(["export", "--db", db]).stdout
            let afterLines = Set(after.split(separator: "\n"))
            #expect(before.split(separator: "\n").allSatisfy { afterLines.contains($0) })

            // Space returns: the import resumes and ends as the uninterrupted one did.
            let rerun = try convostore(["import", "--quiet", "--db", db, second])
            #expect(rerun.status == 0, "\(rerun.stderr)")
            #expect(try convostore(["check", "--db", db]).status == 0)
            #expect(try convostore(["export", "--db", db]).stdout == reference)
        }
    }

    // MARK: Bad bytes

    /// Records overwritten with garbage in the data file: reads of them throw a typed error, `check`
    /// reports each, other conversations read normally, nothing crashes.
    @Test(arguments: [
        Damage.empty, .garbage, .truncated, .extended,
    ])
    func corruptedRecordsAreTypedErrors(damage: Damage) throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/store"
            let store = try ConvoStore.open(at: db)
            defer { store.close() }
            for customer in ["damaged-message", "damaged-state", "healthy"] {
                _ = try store.record([
                    inbound("in.\(customer)", t0, customer: customer),
                    outbound("out.\(customer)", t0 + hour, customer: customer),
                ])
            }
            #expect(try store.check().isHealthy)

            // The same options as the store's, so Environment.open hands back the store's own environment
            // (one per path per process) rather than a second one.
            let environment = try Environment.open(path: db, options: EnvironmentOptions())
            try environment.write { txn in
                let messages = try txn.openDatabase("messages", flags: [])
                let conversations = try txn.openDatabase("conversations", flags: [])
                // The damaged-message conversation has the lowest conversation id; in `messages`, each
                // conversation's record (a 4-byte key) comes before its messages.
                let (messageKey, messageValue) = try allEntries(txn, messages).first { $0.0.count > 4 }!
                _ = try txn.put(messages, key: messageKey, value: damage.apply(to: messageValue))
                for entry in try allEntries(txn, conversations)
                where String(decoding: entry.0, as: UTF8.self).contains("damaged-state") {
                    let record = try #require(try txn.value(messages, key: entry.1))
                    _ = try txn.put(messages, key: entry.1, value: damage.apply(to: record))
                }
            }

            #expect(throws: ConvoStoreError.self) { try store.history(business: "b", customer: "damaged-message") }
            do {
                _ = try store.conversation(business: "b", customer: "damaged-state", at: t0 + 2 * hour)
                Issue.record("a damaged conversation record was read without an error")
            } catch let error as ConvoStoreError {
                guard case .corruptRecord(let database, _) = error else { Issue.record("\(error)"); return }
                #expect(database == "conversations")
                // The library names no command line: it says the store is damaged and where to look.
                #expect(error.description.contains("the store is damaged"))
            }
            #expect(try store.history(business: "b", customer: "healthy").count == 2)
            #expect(try store.conversation(business: "b", customer: "healthy", at: t0 + 2 * hour)?.messagesIn == 1)

            let report = try store.check()
            #expect(!report.isHealthy)
            #expect(report.problems.contains { $0.contains("damaged-message") || $0.contains("messages") }, "\(report.problems)")
            #expect(report.problems.contains { $0.contains("conversation") }, "\(report.problems)")
            let cli = try convostore(["check", "--db", db])
            #expect(cli.status == 1, "\(cli.stdout) \(cli.stderr)")
        }
    }

    /// A damaged import checkpoint makes `convostore import` fail with a corrupt-record error instead
    /// of trapping (fuzz-records found `Int(UInt64)` overflowing in Checkpoint.init(decoding:);
    /// reproducer Fuzz/Crashes/records-checkpoint-u64-to-Int).
    /// A store written in another layout (here format 1, where conversation records had their own
    /// database) is refused with a clear error instead of being misread.
    @Test func anOlderFormatIsRefusedClearly() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/store"
            let store = try ConvoStore.open(at: db)
            _ = try store.record([inbound("in.1", t0, customer: "c")])
            let environment = try Environment.open(path: db, options: EnvironmentOptions())
            try environment.write { txn in
                try txn.put(try txn.openDatabase("meta", flags: []), key: Array("format".utf8), value: BigEndian.bytes(UInt32(1)))
            }
            store.close()
            do {
                _ = try ConvoStore.open(at: db)
                Issue.record("a format-1 store was opened")
            } catch let error as ConvoStoreError {
                guard case .incompatibleStore(let detail) = error else { Issue.record("\(error)"); return }
                #expect(detail.contains("format 1") && detail.contains("reads 5"), "\(detail)")
            }
        }
    }

    @Test func damagedCheckpointIsAnErrorNotATrap() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/store"
            let dump = dir + "/dump.jsonl"
            try GeneratedDump.replyPairs(lines: 30, business: "b").write(toFile: dump, atomically: true, encoding: .utf8)
            #expect(try convostore(["import", "--quiet", "--db", db, dump]).status == 0)
            try withEnvironment(db) { environment in
                try environment.write { txn in
                    let checkpoints = try txn.openDatabase("checkpoints", flags: [])
                    let keys = try allEntries(txn, checkpoints).map(\.0)
                    #expect(keys.count == 1)
                    // This release's checkpoint layout (its first byte), cut short.
                    for key in keys { _ = try txn.put(checkpoints, key: key, value: [2] + [UInt8](repeating: 0xFF, count: 31)) }
                }
            }
            let rerun = try convostore(["import", "--quiet", "--db", db, dump])
            #expect(rerun.reason == .exit, "convostore import died of signal \(rerun.status): \(rerun.stderr.suffix(300))")
            #expect(rerun.status != 0)
            #expect(rerun.stderr.contains("corrupt record in checkpoints"), "\(rerun.stderr)")

            // A checkpoint of another layout (an older release's) is not trusted: the import starts
            // over, and what is recorded already is skipped.
            try withEnvironment(db) { environment in
                try environment.write { txn in
                    let checkpoints = try txn.openDatabase("checkpoints", flags: [])
                    for key in try allEntries(txn, checkpoints).map(\.0) { _ = try txn.put(checkpoints, key: key, value: [UInt8](repeating: 0xFF, count: 32)) }
                }
            }
            let restarted = try convostore(["import", "--db", db, dump])
            #expect(restarted.status == 0, "\(restarted.stderr)")
            #expect(restarted.stderr.contains("from an older release; importing from the start"), "\(restarted.stderr)")
            #expect(restarted.stderr.contains("imported 0, duplicates skipped 30"), "\(restarted.stderr)")
        }
    }

    // MARK: Bounded input

    /// Every bound of external input is a rejected line: an over-long line, JSON nested past 32
    /// levels (and 100,000 deep), ids and bodies over their limits. The store stays healthy.
    @Test(arguments: [DumpFormat.native, .webhook])
    func brokenBoundsAreRejectedLines(format: DumpFormat) throws {
        try withTemporaryDirectory { dir in
            let store = try ConvoStore.open(at: dir + "/store")
            defer { store.close() }
            let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
            var lines = [
                "{\"type\":\"message\",\"pad\":\"" + String(repeating: "x", count: 1 << 20) + "\"}",
                deep,
                "{\"a\":" + String(repeating: "{\"a\":", count: 33) + "1" + String(repeating: "}", count: 34),
            ]
            switch format {
            case .native:
                lines += [
                    message(id: String(repeating: "i", count: Limits.messageIDBytes + 1)),
                    message(business: String(repeating: "b", count: Limits.partyIDBytes + 1)),
                    message(customer: String(repeating: "c", count: Limits.partyIDBytes + 1)),
                    message(body: String(repeating: "y", count: Limits.bodyBytes + 1)),
                    message(kind: String(repeating: "k", count: Limits.kindBytes + 1)),
                ]
            case .webhook:
                lines += [
                    webhook(id: String(repeating: "i", count: Limits.messageIDBytes + 1)),
                    webhook(from: String(repeating: "c", count: Limits.partyIDBytes + 1)),
                    webhook(body: String(repeating: "y", count: Limits.bodyBytes + 1)),
                ]
            }
            let path = dir + "/bounds.jsonl"
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            var options = ImportOptions()
            options.format = format
            let reports = Mutex<[String]>([])
            let summary = try DumpImporter(store: store, options: options) { line in reports.withLock { $0.append(line) } }.importFile(path)
            #expect(summary.linesRead == lines.count)
            #expect(summary.rejected == lines.count, "\(reports.withLock { $0 })")
            #expect(summary.imported == 0)
            #expect(reports.withLock { $0.allSatisfy { $0.utf8.count < 1_000 } }, "a reason should not carry the input")
            #expect(try store.check().isHealthy)
        }
    }

    // MARK: Bodies stay out of errors and logs

    /// Lines and events with a recognisable body that are rejected for every kind of reason: no
    /// reason, error description or log message contains the body.
    @Test func bodiesNeverAppearInErrorsOrLogs() async throws {
        try await withTemporaryDirectory { dir in
            let secret = "s3cr3t-body-7f1c"
            let sink = LogSink()
            var options = StoreOptions()
            options.logger = Logger(label: "reliability") { _ in CapturingLogHandler(sink: sink) }
            let store = try ConvoStore.open(at: dir + "/store", options: options)
            defer { store.close() }

            // Through the API: a conflicting id, a body over the limit, a bad field next to a body.
            var texts: [String] = []
            let original = Message(id: "m1", business: "b", customer: "c", direction: .inbound, at: t0, body: Array("\(secret) one".utf8))
            var conflicting = original
            conflicting.body = Array("\(secret) two".utf8)
            var oversized = original
            oversized.id = "m2"
            oversized.body = Array((secret + String(repeating: "z", count: Limits.bodyBytes)).utf8)
            var badID = original
            badID.id = ""
            var results = try await store.submit([.message(original), .message(conflicting), .message(oversized), .message(badID)])
            results += try store.record([.message(conflicting), .message(oversized)])
            for case .rejected(let error) in results { texts.append("\(error)"); texts.append(String(reflecting: error)) }
            #expect(texts.count == 10, "\(results)")
            do {
                _ = try await store.submit(weight: 1) { _ in throw ConvoStoreError.invalidField(field: "test", reason: "fails the commit") }
            } catch {
                texts.append("\(error)")
            }

            // Through the importer: every reason a line with a body can be rejected for.
            let lines = [
                #"{"type":"message","id":"n1","business":"b","customer":"c","direction":"sideways","at":1751364000000,"body":"SECRET"}"#,
                #"{"type":"message","id":"m1","business":"b","customer":"c","direction":"in","at":1751364000000,"body":"SECRET other"}"#,
                #"{"type":"message","id":"n2","business":"b","customer":"c","direction":"in","at":1751364000000,"body_b64":"SECRET!!"}"#,
                #"{"type":"message","id":"n3","business":"b","customer":"c","direction":"in","at":"yesterday","body":"SECRET"}"#,
                #"{"type":"message","id":"n4","business":"b","customer":"c","direction":"in","at":1751364000000,"body":"SECRET"#,
                #"{"type":"message","id":"n5","business":"b","customer":"c","direction":"in","at":1751364000000,"body":"SECRET\x"}"#,
                #"{"type":"message","id":"n6","business":"b","customer":"c","direction":"in","at":1751364000000,"body":"SECRET","body":"SECRET"}"#,
                #"{"type":"message","id":"n7","business":"b","customer":"c","direction":"in","at":1751364000000,"body":["SECRET"]}"#,
                #"{"type":"message","id":"n8","business":"b","customer":"c","direction":"in","at":1751364000000,"body":"SECRET"}garbage"#,
            ].map { $0.replacingOccurrences(of: "SECRET", with: secret) }
            let path = dir + "/secret.jsonl"
            try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
            let reports = Mutex<[String]>([])
            let summary = try DumpImporter(store: store) { line in reports.withLock { $0.append(line) } }.importFile(path)
            texts += reports.withLock { $0 }
            #expect(summary.rejected >= 6, "\(reports.withLock { $0 })")

            // The webhook parser: a delivery with a body and a broken timestamp.
            let webhookPath = dir + "/secret.webhook.jsonl"
            try (webhook(body: secret, timestamp: "not-a-time") + "\n").write(toFile: webhookPath, atomically: true, encoding: .utf8)
            var webhookOptions = ImportOptions()
            webhookOptions.format = .webhook
            let webhookSummary = try DumpImporter(store: store, options: webhookOptions) { line in reports.withLock { $0.append(line) } }
                .importFile(webhookPath)
            #expect(webhookSummary.rejected == 1)
            texts += reports.withLock { $0 }

            // And the command line's stderr for the same lines.
            let cli = try convostore(["import", "--db", dir + "/cli-store", path])
            texts.append(cli.stderr)
            texts.append(cli.stdout)

            texts += sink.messages
            for text in texts {
                #expect(!text.contains(secret), "a body leaked: \(text.prefix(300))")
            }
        }
    }
}

// MARK: Workload

/// Conversations the pair writers share; each only ever gets whole inbound+reply pairs.
private let pairConversations = 16

/// One inbound message and its reply, in one of the pair conversations.
private func pair(task: Int, number: Int) -> [Event] {
    let customer = "c\((task * 7 + number) % pairConversations)"
    let at = t0 + Int64(number) * hour + Int64(task) * 1_000
    return [
        .message(Message(id: "in.\(task).\(number)", business: "pairs", customer: customer, direction: .inbound, at: at, body: Array("question".utf8))),
        .message(Message(id: "out.\(task).\(number)", business: "pairs", customer: customer, direction: .outbound, at: at + 60_000, body: Array("answer".utf8))),
    ]
}

private func message(id: String = "m", business: String = "b", customer: String = "c", kind: String = "text", body: String = "hi") -> String {
    #"{"type":"message","id":"\#(id)","business":"\#(business)","customer":"\#(customer)","direction":"in","at":1751364000000,"kind":"\#(kind)","body":"\#(body)"}"#
}

private func webhook(id: String = "wamid.1", from: String = "16505551234", body: String = "hi", timestamp: String = "1751364000") -> String {
    #"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"messages":[{"from":"\#(from)","id":"\#(id)","timestamp":"\#(timestamp)","type":"text","text":{"body":"\#(body)"}}]},"field":"messages"}]}]}"#
}

/// Ways to damage a stored value so that it cannot be decoded.
enum Damage: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case empty, garbage, truncated, extended

    func apply(to value: [UInt8]) -> [UInt8] {
        switch self {
        case .empty: []
        case .garbage: [0xFF, 0x13, 0x37]
        case .truncated: Array(value.dropLast())
        case .extended: value + [0xAB]
        }
    }

    var testDescription: String { self.rawValue }
}

/// Runs `body` with the store's LMDB environment, opened as `ConvoStore.open` opens it.
private func withEnvironment(_ path: String, _ body: (Environment) throws -> Void) throws {
    // The store's own options (the wrapper's defaults), so that a store open in this test shares it.
    try body(try Environment.open(path: path, options: EnvironmentOptions()))
}

/// Every entry of `database`, copied out of the map.
private func allEntries(_ txn: ReadTransaction, _ database: Database) throws -> [([UInt8], [UInt8])] {
    var entries: [([UInt8], [UInt8])] = []
    try txn.forEach(database) { key, value in
        entries.append((Array(key), Array(value)))
        return true
    }
    return entries
}

// MARK: Reader slots

/// Reader slots of the store's lock file that hold a live read transaction, from any process
/// (`mdb_stat -r` lists each slot; an idle, reset slot shows its txnid as "-").
private func activeReaderSlots(_ path: String) throws -> Int {
    // mdb_stat -r exits 1 after listing (it skips its normal path), so look at what it printed.
    let listing = try runProcess("/usr/bin/env", ["mdb_stat", "-r", path])
    #expect(listing.stdout.contains("Reader Table Status"), "mdb_stat -r: \(listing.stdout) \(listing.stderr)")
    return listing.stdout.split(separator: "\n").filter { line in
        let fields = line.split(separator: " ")
        return fields.count == 3 && Int(fields[0]) != nil && fields[2] != "-"
    }.count
}

// MARK: Reader threads

/// Threads that read the store in a loop until stopped, each read on one snapshot, collecting the
/// failures `check` reports and any error a read throws.
private final class ReaderThreads: Sendable {
    private let running = Atomic<Bool>(true)
    private let reads = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let errors = Mutex<[String]>([])
    private let count: Int

    init(count: Int, store: ConvoStore, check: @escaping @Sendable (StoreReader) throws -> String?) {
        self.count = count
        for _ in 0..<count {
            let thread = Thread { [self] in
                while self.running.load(ordering: .relaxed) {
                    do {
                        if let failure = try store.read(check) { self.errors.withLock { $0.append(failure) } }
                    } catch {
                        self.errors.withLock { $0.append("read threw: \(error)") }
                    }
                    self.reads.add(1, ordering: .relaxed)
                }
                self.finished.add(1, ordering: .releasing)
            }
            thread.start()
        }
    }

    /// Stops the threads, waits for them, and returns the reads done and the failures seen.
    func stop() async -> (reads: Int, errors: [String]) {
        self.running.store(false, ordering: .relaxed)
        while self.finished.load(ordering: .acquiring) < self.count {
            try? await Task.sleep(for: .milliseconds(5))
        }
        return (self.reads.load(ordering: .relaxed), self.errors.withLock { $0 })
    }
}
