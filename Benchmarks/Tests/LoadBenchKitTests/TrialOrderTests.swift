import LoadBenchKit
import Testing

@Suite("The engines' order from trial to trial")
struct TrialOrderTests {
    /// Each trial's order is a permutation of the engines, and the first keeps the order given.
    static func checkPermutations(_ orders: [[Int]], count: Int, trials: Int) {
        #expect(orders.count == trials)
        #expect(orders.first == Array(0..<count))
        for order in orders { #expect(order.sorted() == Array(0..<count)) }
    }

    /// Every engine's predecessors over the run, the step between trials included (nil: ran first).
    static func predecessors(_ orders: [[Int]]) -> [Int: [Int?]] {
        var out: [Int: [Int?]] = [:]
        var last: Int?
        for order in orders {
            for engine in order {
                out[engine, default: []].append(last)
                last = engine
            }
        }
        return out
    }

    @Test("make bench's engines (4, or 5 with --pricing-cost) over 3 trials: no repeated place, no repeated predecessor", arguments: [4, 5])
    func threeTrials(count: Int) {
        let orders = TrialOrder.schedule(count: count, trials: 3)
        Self.checkPermutations(orders, count: count, trials: 3)
        for engine in 0..<count {
            let places = orders.map { $0.firstIndex(of: engine)! }
            #expect(Set(places).count == 3, "engine \(engine) ran at places \(places)")
        }
        for (engine, before) in Self.predecessors(orders) {
            #expect(Set(before).count == before.count, "engine \(engine) followed \(before)")
        }
        #expect(TrialOrder.repeats(orders) == .none)
    }

    @Test("A plain rotation repeats predecessors, and the schedule has fewer repeats")
    func betterThanRotation() {
        let rotation = (0..<3).map { trial in (0..<5).map { ($0 + trial) % 5 } }
        #expect(TrialOrder.repeats(rotation).predecessors > 0)
        #expect(TrialOrder.repeats(TrialOrder.schedule(count: 5, trials: 3)) < TrialOrder.repeats(rotation))
    }

    @Test("More trials than a schedule without repeats allows: still permutations, and repeats counted")
    func moreTrialsThanPlaces() {
        let orders = TrialOrder.schedule(count: 3, trials: 5)
        Self.checkPermutations(orders, count: 3, trials: 5)
        #expect(TrialOrder.repeats(orders).positions == 6)  // 15 places, 9 distinct (engine, place) pairs
    }

    @Test("A budget too small to finish one schedule still gives permutations")
    func budgetRunsOut() {
        let orders = TrialOrder.schedule(count: 5, trials: 4, budget: 1)
        Self.checkPermutations(orders, count: 5, trials: 4)
    }

    @Test("One trial, or one engine: the order given")
    func trivial() {
        #expect(TrialOrder.schedule(count: 4, trials: 1) == [[0, 1, 2, 3]])
        #expect(TrialOrder.schedule(count: 1, trials: 3) == [[0], [0], [0]])
    }
}
