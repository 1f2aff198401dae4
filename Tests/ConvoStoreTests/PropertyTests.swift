import ConvoStore
import Foundation
import Testing

/// A small deterministic generator (SplitMix64), so a failing seed can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random events over a few days between a few businesses and customers: every kind of event,
/// entry points, templates of every category, controls of every group, statuses before and after
/// their messages, repeated message ids. No two controls of one group share a time, so the set
/// of events alone decides the state.
func randomEvents(seed: UInt64, count: Int) -> [Event] {
    var rng = SeededGenerator(state: seed)
    var events: [Event] = []
    var usedControlTimes = Set<String>()
    var outboundIDs: [(String, String)] = []
    for n in 0..<count {
        let business = "b\(Int.random(in: 0..<3, using: &rng))"
        let customer = "c\(Int.random(in: 0..<6, using: &rng))"
        let at = t0 + Int64.random(in: 0..<(4 * day), using: &rng) / 60_000 * 60_000  // minute grid: ties happen
        switch Int.random(in: 0..<100, using: &rng) {
        case 0..<40:
            events.append(inbound("in\(n)", at, business: business, customer: customer, entry: Int.random(in: 0..<10, using: &rng) == 0))
        case 40..<75:
            let template: TemplateCategory? = Bool.random(using: &rng) ? TemplateCategory.allCases.randomElement(using: &rng) : nil
            events.append(outbound("out\(n)", at, business: business, customer: customer, template: template))
            outboundIDs.append((business, "out\(n)"))
        case 75..<88:
            let (b, id) = outboundIDs.randomElement(using: &rng) ?? (business, "out\(n + 1)")
            events.append(.status(StatusUpdate(business: b, messageID: id, status: MessageStatus.allCases.randomElement(using: &rng)!, at: at)))
        default:
            let actor: Actor = Int.random(in: 0..<5, using: &rng) == 0 ? .business : .customer
            let action = actor == .business ? [ControlAction.block, .unblock].randomElement(using: &rng)! : ControlAction.allCases.randomElement(using: &rng)!
            let group = actor == .business ? "B" : "\(action.rawValue / 2)"
            guard usedControlTimes.insert("\(business)/\(customer)/\(group)/\(at)").inserted else { continue }
            events.append(control(action, at, by: actor, business: business, customer: customer))
        }
        if Int.random(in: 0..<20, using: &rng) == 0, let last = events.last { events.append(last) }  // an exact duplicate
    }
    return events
}

/// Everything the store answers about its state, for comparing two stores.
func snapshot(_ store: ConvoStore) throws -> [AnyHashable] {
    var out: [AnyHashable] = []
    for b in 0..<3 {
        for c in 0..<6 {
            for at in stride(from: t0, to: t0 + 5 * day, by: Int64.Stride(7 * hour)) {
                out.append(try store.conversation(business: "b\(b)", customer: "c\(c)", at: at))
                for kind in ["text", "template"] {
                    for category in TemplateCategory.allCases {
                        out.append(try store.checkSend(business: "b\(b)", customer: "c\(c)", at: at, kind: kind, category: category))
                    }
                }
            }
            // Positions (recording order) differ between the stores; the messages, classes and statuses may not.
            out.append(Set(try store.history(business: "b\(b)", customer: "c\(c)", limit: 10_000).map { "\($0.message) \(String(describing: $0.outcome)) \(String(describing: $0.status))" }))
        }
        out.append(try store.billing(business: "b\(b)"))
        out.append(try store.billing(business: "b\(b)", from: t0 + day, to: t0 + 2 * day))
        out.append(try store.inbox(business: "b\(b)"))
    }
    for at in stride(from: t0, to: t0 + 6 * day, by: Int64.Stride(5 * hour)) {
        out.append(try store.overdue(asOf: at))
        out.append(try store.newlyOverdue(after: at, until: at + 5 * hour))
        out.append(try store.windowsClosing(from: at, to: at + 5 * hour))
    }
    return out
}

@Suite struct OrderIndependence {
    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func shuffledBatchesGiveTheSameStateAsSorted(seed: UInt64) throws {
        let events = randomEvents(seed: seed, count: 400)
        func time(_ e: Event) -> Int64 {
            switch e {
            case .message(let m): m.at
            case .status(let s): s.at
            case .control(let c): c.at
            case .link: 0
            }
        }
        // Sorted by time, keeping the original order among equal times (stable).
        let sorted = events.enumerated().sorted { (time($0.element), $0.offset) < (time($1.element), $1.offset) }.map(\.element)
        let expected = try withStore { store throws -> [AnyHashable] in
            _ = try store.record(sorted)
            #expect(try store.check().isHealthy)
            return try snapshot(store)
        }
        var rng = SeededGenerator(state: seed &* 31)
        let shuffled = events.shuffled(using: &rng)
        let actual = try withStore { store throws -> [AnyHashable] in
            var rest = shuffled[...]
            while !rest.isEmpty {
                let n = Int.random(in: 1...40, using: &rng)
                _ = try store.record(Array(rest.prefix(n)))
                rest = rest.dropFirst(n)
            }
            let report = try store.check()
            #expect(report.isHealthy, "\(report.problems.prefix(3))")
            return try snapshot(store)
        }
        #expect(actual.count == expected.count)
        for (a, e) in zip(actual, expected) where a != e {
            Issue.record("seed \(seed): shuffled store answers\n\(a)\nsorted store answers\n\(e)")
            break
        }
    }

    @Test func exportThenImportGivesTheSameAnswersAndTheSameExport() throws {
        let events = randomEvents(seed: 42, count: 300)
        try withStore { original throws in
            _ = try original.record(events)
            var lines: [String] = []
            try original.export { lines.append($0) }
            var again: [String] = []
            try original.export { again.append($0) }
            #expect(lines == again)
            try withStore { copy throws in
                for line in lines {
                    if case .event(let event) = try NativeDump.parse(line) { _ = try copy.record([event]) }
                }
                var copied: [String] = []
                try copy.export { copied.append($0) }
                #expect(copied == lines)
                #expect(try snapshot(copy) == snapshot(original))
            }
        }
    }
}

@Suite struct GroupCommit {
    @Test func hundredsOfConcurrentSubmittersAreEachAcknowledgedAfterTheirCommit() async throws {
        try await withStore { store throws in
            let submitters = 300
            let results = try await withThrowingTaskGroup(of: [RecordResult].self) { group in
                for n in 0..<submitters {
                    group.addTask {
                        try await store.submit([inbound("m\(n)", t0 + Int64(n), customer: "c\(n % 37)"), outbound("r\(n)", t0 + Int64(n) + 1, customer: "c\(n % 37)")])
                    }
                }
                var all: [[RecordResult]] = []
                for try await r in group { all.append(r) }
                return all
            }
            #expect(results.count == submitters)
            #expect(results.allSatisfy { $0 == [.recorded, .recorded] })
            // Acknowledged means committed: a fresh read sees every message.
            var total = 0
            for c in 0..<37 { total += try store.state(t0, customer: "c\(c)").messagesIn }
            #expect(total == submitters)
            #expect(try store.check().isHealthy)
        }
    }

    @Test func aFailingRequestDoesNotTakeOthersDown() async throws {
        struct Boom: Error {}
        try await withStore { store throws in
            let bad = Task {
                try await store.submit { writer in
                    _ = try writer.record(inbound("x", t0, customer: "bad"))
                    throw Boom()
                }
            }
            let good = Task { try await store.submit([inbound("y", t0, customer: "good")]) }
            await #expect(throws: Boom.self) { try await bad.value }
            let goodResult = try await good.value
            #expect(goodResult == [.recorded])
            // The failed request's partial write was rolled back.
            #expect(try store.conversation(business: "b", customer: "bad", at: t0) == nil)
            #expect(try store.check().isHealthy)
        }
    }
}
