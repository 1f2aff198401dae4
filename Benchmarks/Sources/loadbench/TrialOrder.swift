/// The order in which the engines' live phases run, trial by trial.
///
/// A live phase can depend on what ran just before it (the previous engine's writeback still
/// draining, the page cache it left), not only on its position. Rotating one list balances
/// positions but keeps every engine's predecessor: with a, b, c, d, e, b always follows a. So the
/// orders are chosen so that, as far as the trial count allows, no engine holds the same position
/// twice and no engine follows the same engine twice, counting the step from one trial's last engine
/// to the next trial's first. The first trial keeps the order given. The search is exhaustive over
/// the later trials' permutations (a few thousand at the harness's 3 trials of 4 or 5 engines),
/// within a budget past which it keeps the best orders found; it is deterministic.
package enum TrialOrder {
    /// The repeats a schedule has: positions an engine held before, then predecessors it had before.
    package struct Repeats: Comparable, Sendable {
        package var positions = 0
        package var predecessors = 0
        package static func < (a: Repeats, b: Repeats) -> Bool {
            (a.positions, a.predecessors) < (b.positions, b.predecessors)
        }
        package static let none = Repeats()
    }

    /// `trials` orders of `count` engines, as indexes into the engine list.
    package static func schedule(count: Int, trials: Int, budget: Int = 2_000_000) -> [[Int]] {
        precondition(count >= 1 && trials >= 1)
        let first = Array(0..<count)
        guard trials > 1, count > 1 else { return Array(repeating: first, count: trials) }
        let permutations = Self.permutations(count)
        var search = Search(count: count, trials: trials, permutations: permutations, budget: budget)
        search.place(first)
        search.run()
        return search.best
    }

    /// Counts the repeats of a schedule (what ``schedule(count:trials:budget:)`` minimizes).
    package static func repeats(_ orders: [[Int]]) -> Repeats {
        var tally = Tally()
        var total = Repeats.none
        for order in orders {
            let added = tally.add(order)
            total.positions += added.positions
            total.predecessors += added.predecessors
        }
        return total
    }

    /// Which (engine, position) and (predecessor, engine) pairs a schedule has used so far.
    private struct Tally {
        var positions: [[Int]: Int] = [:]
        var pairs: [[Int]: Int] = [:]
        var last: Int?

        /// Adds one trial's order; returns the repeats it brought.
        mutating func add(_ order: [Int]) -> Repeats {
            var repeats = Repeats.none
            for (position, engine) in order.enumerated() {
                if self.positions[[engine, position], default: 0] > 0 { repeats.positions += 1 }
                self.positions[[engine, position], default: 0] += 1
                if let previous = self.last {
                    if self.pairs[[previous, engine], default: 0] > 0 { repeats.predecessors += 1 }
                    self.pairs[[previous, engine], default: 0] += 1
                }
                self.last = engine
            }
            return repeats
        }

        /// Takes back the last order added (`previousLast`: the engine that ended the order before it).
        mutating func remove(_ order: [Int], previousLast: Int?) {
            var previous = previousLast
            for (position, engine) in order.enumerated() {
                self.positions[[engine, position]]! -= 1
                if let p = previous { self.pairs[[p, engine]]! -= 1 }
                previous = engine
            }
            self.last = previousLast
        }
    }

    /// Depth-first over the later trials' permutations, pruned by the best total found so far.
    private struct Search {
        let count: Int
        let trials: Int
        let permutations: [[Int]]
        var budget: Int
        var tally = Tally()
        var orders: [[Int]] = []
        var cost = Repeats.none
        var best: [[Int]] = []
        var bestCost: Repeats?

        init(count: Int, trials: Int, permutations: [[Int]], budget: Int) {
            self.count = count
            self.trials = trials
            self.permutations = permutations
            self.budget = budget
        }

        mutating func place(_ order: [Int]) {
            let added = self.tally.add(order)
            self.cost.positions += added.positions
            self.cost.predecessors += added.predecessors
            self.orders.append(order)
        }

        mutating func run() {
            if self.orders.count == self.trials {
                if self.bestCost.map({ self.cost < $0 }) ?? true {
                    self.best = self.orders
                    self.bestCost = self.cost
                }
                return
            }
            for permutation in self.permutations {
                if self.budget <= 0 || self.bestCost == Repeats.none { break }
                self.budget -= 1
                let savedCost = self.cost
                let previousLast = self.tally.last
                self.place(permutation)
                if self.bestCost.map({ self.cost < $0 }) ?? true { self.run() }
                self.orders.removeLast()
                self.tally.remove(permutation, previousLast: previousLast)
                self.cost = savedCost
            }
            if self.best.isEmpty {  // the budget ran out before one schedule was complete: rotate the rest
                let done = self.orders.count
                self.best = self.orders + (done..<self.trials).map { trial in
                    (0..<self.count).map { (($0 + trial) % self.count) }
                }
                self.bestCost = TrialOrder.repeats(self.best)
            }
        }
    }

    /// Every permutation of 0..<count, in lexicographic order.
    private static func permutations(_ count: Int) -> [[Int]] {
        var out: [[Int]] = []
        var current = Array(0..<count)
        while true {
            out.append(current)
            guard let i = (0..<(count - 1)).last(where: { current[$0] < current[$0 + 1] }) else { return out }
            let j = ((i + 1)..<count).last(where: { current[$0] > current[i] })!
            current.swapAt(i, j)
            current[(i + 1)...].reverse()
        }
    }
}
