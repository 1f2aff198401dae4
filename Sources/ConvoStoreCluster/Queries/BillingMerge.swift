import ConvoStore
import Foundation

/// Adds up partitions' `billing --json` answers for one business. Every count is a sum over messages,
/// and so is each amount while no volume tier applies (``ClusterClient/billing(business:from:to:)``
/// refuses tiered cards): the sum of the partitions' answers is the single store's answer.
///
/// It writes the contract's object field for field in `OutputJSON.billing`'s order. (A public
/// initializer on `BillingSummary` would let it build the library's value and print it with
/// `OutputJSON.billing` itself: docs/cluster.md asks the library for it.)
enum BillingMerge {
    private struct Counts {
        var charged: [String: Int64] = [:]
        var amount: Int64 = 0
    }

    static func merge(_ lines: [String], business: String, from: Int64?, to: Int64?) throws -> String {
        var total = Counts()
        var free: Int64 = 0, failed: Int64 = 0
        var violations: [String: Int64] = [:]
        var markets: [String: Counts] = [:]
        var platform = Counts()
        var platformFree: Int64 = 0, platformUnpriced: Int64 = 0
        for line in lines {
            guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                throw ClusterError.invalid("a billing answer that is not a JSON object: \(line.prefix(200))")
            }
            Self.add(o["charged"], into: &total.charged)
            total.amount += Self.number(o["amount_micros"])
            free += Self.number(o["free"])
            failed += Self.number(o["failed"])
            Self.add(o["violations"], into: &violations)
            for (name, value) in (o["markets"] as? [String: Any]) ?? [:] {
                let market = value as? [String: Any] ?? [:]
                Self.add(market["charged"], into: &markets[name, default: Counts()].charged)
                markets[name, default: Counts()].amount += Self.number(market["amount_micros"])
            }
            let p = o["platform"] as? [String: Any] ?? [:]
            Self.add(p["charged"], into: &platform.charged)
            platformFree += Self.number(p["free"])
            platformUnpriced += Self.number(p["unpriced"])
        }
        let categories = ChargeCategory.allCases.map(\.name)
        return JSONWriter.object { o in
            o.field("business", business)
            o.field("from", from)
            o.field("to", to)
            o.objectField("charged") { c in for name in categories { c.field(name, total.charged[name] ?? 0) } }
            o.field("free", free)
            o.objectField("violations") { v in for name in Violation.allCases.map(\.name) { v.field(name, violations[name] ?? 0) } }
            o.field("amount_micros", total.amount)
            o.objectField("markets") { m in
                for name in markets.keys.sorted() {
                    m.objectField(name) { e in
                        e.objectField("charged") { c in for category in categories { c.field(category, markets[name]!.charged[category] ?? 0) } }
                        e.field("amount_micros", markets[name]!.amount)
                    }
                }
            }
            o.field("failed", failed)
            o.objectField("platform") { p in
                p.objectField("charged") { c in for name in categories { c.field(name, platform.charged[name] ?? 0) } }
                p.field("free", platformFree)
                p.field("unpriced", platformUnpriced)
            }
        }
    }

    private static func number(_ value: Any?) -> Int64 {
        (value as? NSNumber)?.int64Value ?? 0
    }

    private static func add(_ object: Any?, into counts: inout [String: Int64]) {
        for (key, value) in (object as? [String: Any]) ?? [:] { counts[key, default: 0] += Self.number(value) }
    }
}
