import ConvoStore
import ConvoStoreCluster
import Foundation
import Testing
import TestSupport

@Suite("Applying a partition's stream")
struct BatchApplierTests {
    static func entry(_ sequence: UInt64, _ line: String) -> StreamEntry {
        StreamEntry(sequence: sequence, payload: Array(line.utf8), format: .native, items: nil)
    }

    /// Runs `body` with a new store in a temporary directory and an applier of partition log `log`.
    static func withApplier(log: String, _ body: (ConvoStore, BatchApplier) throws -> Void) throws {
        try withTemporaryDirectory { dir in
            let store = try ConvoStore.open(at: dir)
            defer { store.close() }
            try body(store, BatchApplier(log: log))
        }
    }

    static let lines = [
        #"{"type":"message","id":"m1","business":"b","customer":"c","direction":"in","at":1751364000000}"#,
        #"{"type":"message","id":"m2","business":"b","customer":"c","direction":"out","at":1751364060000}"#,
        #"{"type":"control","business":"b","customer":"c","by":"customer","action":"opt_in","at":1751364070000}"#,
        #"{"type":"message","id":"m3","business":"b","customer":"c","direction":"in","at":1751364080000}"#,
    ]

    @Test("Redelivered entries at or below the store's position are skipped: each counts once")
    func redeliverySkipped() throws {
        try Self.withApplier(log: "CONVO_0") { store, applier in
            let first = try applier.apply([Self.entry(1, Self.lines[0]), Self.entry(2, Self.lines[1])], to: store)
            #expect(first.applied == 2 && first.redelivered == 0 && first.position == 2)
            // The log delivers 2 again (its acknowledgement was lost) with 3 and 4.
            let second = try applier.apply([Self.entry(2, Self.lines[1]), Self.entry(3, Self.lines[2]), Self.entry(4, Self.lines[3])], to: store)
            #expect(second.applied == 2 && second.redelivered == 1 && second.position == 4)
            let again = try applier.apply((1...4).map { Self.entry(UInt64($0), Self.lines[$0 - 1]) }, to: store)
            #expect(again.applied == 0 && again.redelivered == 4 && again.position == 4)
            #expect(try store.read { try $0.logPosition(of: "CONVO_0") } == 4)
            let state = try #require(try store.read { try $0.conversation(business: "b", customer: "c", at: 1751364090000) })
            #expect(state.messagesIn == 2 && state.messagesOut == 1)
            // One control recorded once: the store's own statistics count it once.
            #expect(try store.statistics().messages == 3)
        }
    }

    @Test("A batch with a hole is applied up to the hole only: the missing message is not skipped when it comes")
    func holeStopsTheBatch() throws {
        try Self.withApplier(log: "CONVO_2") { store, applier in
            // 2 was fetched earlier and left unacknowledged (an error, a lapsed lease); the log goes on with 3 and 4.
            let first = try applier.apply([Self.entry(1, Self.lines[0]), Self.entry(3, Self.lines[2]), Self.entry(4, Self.lines[3])], to: store)
            #expect(first.applied == 1 && first.position == 1 && first.missing == 2)
            #expect(try store.read { try $0.logPosition(of: "CONVO_2") } == 1)
            #expect(try store.statistics().messages == 1, "nothing after the hole was recorded")
            // Asked again from the position, the log delivers 2, 3, 4: every one is applied, once.
            let second = try applier.apply((2...4).map { Self.entry(UInt64($0), Self.lines[$0 - 1]) }, to: store)
            #expect(second.applied == 3 && second.position == 4 && second.missing == nil)
            let state = try #require(try store.read { try $0.conversation(business: "b", customer: "c", at: 1751364090000) })
            #expect(state.messagesIn == 2 && state.messagesOut == 1)
        }
    }

    @Test("A batch whose transaction fails leaves neither its events nor its position")
    func failedBatchLeavesNothing() throws {
        try Self.withApplier(log: "CONVO_1") { store, applier in
            struct Crash: Error {}
            _ = try applier.apply([Self.entry(1, Self.lines[0])], to: store)
            #expect(try store.read { try $0.logPosition(of: "CONVO_1") } == 1)
            let partial: BatchOutcome? = try? {
                try store.write { writer -> BatchOutcome in
                    _ = try writer.record(.message(Message(id: "x", business: "b", customer: "c", direction: .inbound, at: 1)))
                    try writer.setLogPosition(9, of: "CONVO_1")
                    throw Crash()
                }
            }()
            #expect(partial == nil)
            #expect(try store.read { try $0.logPosition(of: "CONVO_1") } == 1)
            #expect(try store.read { try $0.conversation(business: "b", customer: "c", at: 2) }?.messagesIn == 1)
        }
    }

    @Test("An event the store refuses is reported with its sequence, and the position still moves past it")
    func refusedEventReported() throws {
        try Self.withApplier(log: "CONVO_2") { store, applier in
            let changed = Self.lines[0].replacingOccurrences(of: "1751364000000", with: "1751364000001")
            let outcome = try applier.apply([Self.entry(1, Self.lines[0]), Self.entry(2, changed)], to: store)
            #expect(outcome.applied == 1)
            #expect(outcome.rejected.map(\.sequence) == [2])
            #expect(outcome.position == 2)
        }
    }
}
