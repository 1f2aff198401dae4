import ConvoStore
import Foundation
import TestSupport
import Testing

// R7 and R8 through the public API: the worked month of the README's pricing section, the fallbacks,
// bad cards, and messaging limits.

private let october: Int64 = 1_790_812_800_000  // 2026-10-01T00:00:00Z, the default service-charge date
private let september: Int64 = october - 30 * day

/// The card of the README's worked example.
let workedExampleCard = """
effective_from,market,category,tier_from,rate_micros
2026-09-01,IN,marketing,1,11800
2026-09-01,IN,utility,1,1400
2026-09-01,IN,utility,3,1000
2026-10-01,IN,utility,1,1300
2026-10-01,IN,utility,3,900
2026-10-01,IN,service,1,500
2026-10-01,other,marketing,1,20000

"""

private func template(_ id: String, _ at: Int64, _ category: TemplateCategory, customer: String, business: String = "shop") -> Message {
    Message(id: id, business: business, customer: customer, direction: .outbound, at: at, kind: "template", category: category)
}

@Suite struct Pricing {
    /// One month of one business (README, "Pricing"): service charges from October 1st, volume
    /// tiers, a late message that re-ranks the later ones, and a new card version.
    @Test func theWorkedMonth() async throws {
        try await withStore { store in
            try store.importRates(csv: workedExampleCard, name: "card.csv")
            let priya = "919876543210"  // IN
            let arjun = "919812345678"
            let kavya = "919900011122"
            _ = try store.record([
                .message(Message(id: "in.1", business: "shop", customer: priya, direction: .inbound, at: october + day + 10 * hour)),
                .control(Control(business: "shop", customer: arjun, actor: .customer, action: .optIn, at: september)),
                .control(Control(business: "shop", customer: kavya, actor: .customer, action: .optIn, at: september)),
            ])
            // A free-form reply in the window: from 2026-10-01 it is a service charge (500).
            #expect(try await store.send(Message(id: "r.1", business: "shop", customer: priya, direction: .outbound, at: october + day + 10 * hour + 5 * 60_000))
                == .sent(.charged(.service), amountMicros: 500))
            // Utility templates: charged in the window too from October; ranks 1, 2 pay 1300, rank 3 pays 900.
            #expect(try await store.send(template("u.1", october + day + 11 * hour, .utility, customer: priya)) == .sent(.charged(.utility), amountMicros: 1300))
            #expect(try await store.send(template("u.2", october + 4 * day, .utility, customer: arjun)) == .sent(.charged(.utility), amountMicros: 1300))
            #expect(try await store.send(template("u.3", october + 5 * day, .utility, customer: kavya)) == .sent(.charged(.utility), amountMicros: 900))
            var october2026 = try store.billing(business: "shop", from: october, to: october + 31 * day)
            #expect(october2026.charged[.utility] == 3)
            #expect(october2026.charged[.service] == 1)
            #expect(october2026.amountMicros == 500 + 1300 + 1300 + 900)

            // A utility template of October 1st arrives late: it takes rank 1, and the others move up.
            _ = try store.record([.message(template("u.0", october + 9 * hour, .utility, customer: arjun))])
            october2026 = try store.billing(business: "shop", from: october, to: october + 31 * day)
            #expect(october2026.charged[.utility] == 4)
            #expect(october2026.amountMicros == 500 + 1300 + 1300 + 900 + 900)
            // A range inside the month keeps the month's ranks: October 5th's message is rank 3 or 4.
            let fifth = try store.billing(business: "shop", from: october + 4 * day, to: october + 6 * day)
            #expect(fifth.amountMicros == 900 + 900)
            #expect(fifth.markets["IN"]?.charged[.utility] == 2)

            // September: the earlier version, and ranks start again at 1 in a new month.
            _ = try store.record([.message(template("s.1", september + 2 * day, .utility, customer: arjun))])
            let sept = try store.billing(business: "shop", from: september, to: october)
            #expect(sept.amountMicros == 1400)
            // Marketing: IN has no October row, so (other, marketing) applies; a number of no listed
            // market is priced by (other, ...) too.
            #expect(try await store.send(template("m.1", october + 6 * day, .marketing, customer: kavya)) == .sent(.charged(.marketing), amountMicros: 20_000))
            try expectHealthy(store)
        }
    }

    /// The fallbacks of R7: (other, category), a service rate from the market's utility base, the
    /// store's defaults before any version and for what no version lists.
    @Test func fallbacks() async throws {
        try await withStore { store in
            try store.importRates(csv: """
                effective_from,market,category,tier_from,rate_micros
                2026-11-01,BR,utility,1,700
                2026-11-01,other,authentication,1,3000
                """, name: "card.csv")
            let br = "5511987654321"
            let de = "491701234567"
            let nov = october + 31 * day
            _ = try store.record([
                .message(Message(id: "in.br", business: "b", customer: br, direction: .inbound, at: nov + hour)),
                .message(Message(id: "in.de", business: "b", customer: de, direction: .inbound, at: nov + hour)),
                .message(Message(id: "in.early", business: "b", customer: br, direction: .inbound, at: october + hour)),
            ])
            // Service in BR: no service row, so BR's utility base (700).
            #expect(try await store.send(Message(id: "s.br", business: "b", customer: br, direction: .outbound, at: nov + 2 * hour)) == .sent(.charged(.service), amountMicros: 700))
            // Service in DE: no DE or other rows for service or utility: the store's default (4000).
            #expect(try await store.send(Message(id: "s.de", business: "b", customer: de, direction: .outbound, at: nov + 2 * hour)) == .sent(.charged(.service), amountMicros: 4000))
            // Authentication in DE: (other, authentication).
            #expect(try await store.send(template("a.de", nov + 3 * hour, .authentication, customer: de, business: "b")) == .sent(.charged(.authentication), amountMicros: 3000))
            // Before the first version: the store's defaults.
            #expect(try await store.send(Message(id: "s.early", business: "b", customer: br, direction: .outbound, at: october + 2 * hour)) == .sent(.charged(.service), amountMicros: 4000))
            // Before the service date, a free-form reply in the window is free.
            _ = try store.record([.message(Message(id: "in.sep", business: "b", customer: br, direction: .inbound, at: september))])
            #expect(try await store.send(Message(id: "s.sep", business: "b", customer: br, direction: .outbound, at: september + hour)) == .sent(.free, amountMicros: 0))
        }
    }

    /// A bad row rejects the whole card, names the line, and changes nothing.
    @Test(arguments: [
        ("2026-07-01,XX,utility,1,100", "market"),
        ("2026-07-01,IN,promo,1,100", "category"),
        ("2026-07-01,IN,utility,1,-5", "rate_micros"),
        ("2026-07-01,IN,utility,1,1.5", "rate_micros"),
        ("2026-07-01,IN,marketing,5,100", "tier_from"),
        ("2026-07-32,IN,utility,1,100", "effective_from"),
        ("2026-07-01,IN,utility,1", "fields"),
    ])
    func aBadRowRejectsTheCard(row: String, field: String) throws {
        try withStore { store in
            try store.importRates(csv: "effective_from,market,category,tier_from,rate_micros\n2026-07-01,IN,utility,1,1400\n", name: "good.csv")
            let before = try store.rateCard()
            do {
                try store.importRates(csv: "effective_from,market,category,tier_from,rate_micros\n2026-07-01,IN,marketing,1,9000\n\(row)\n", name: "bad.csv")
                Issue.record("accepted \(row)")
            } catch let error as RateCardError {
                #expect(error.problems.count == 1)
                #expect(error.problems.first?.hasPrefix("bad.csv:3: ") == true, "\(error.problems)")
                #expect(error.problems.first?.contains(field) == true, "\(error.problems)")
            }
            #expect(try store.rateCard() == before)
        }
    }

    @Test func aMissingBaseRowAndARepeatedRowAreRejected() throws {
        try withStore { store in
            #expect(throws: RateCardError.self) {
                try store.importRates(csv: "effective_from,market,category,tier_from,rate_micros\n2026-07-01,IN,utility,3,900\n", name: "c.csv")
            }
            do {
                try store.importRates(csv: "effective_from,market,category,tier_from,rate_micros\n2026-07-01,IN,utility,1,9\n2026-07-01,IN,utility,1,8\n", name: "c.csv")
            } catch let error as RateCardError {
                #expect(error.problems == ["c.csv:3: repeats line 2 (the same effective_from, market, category and tier_from)"])
            }
            #expect(try store.rateCard().isEmpty)
        }
    }
}

@Suite struct MessagingLimits {
    /// reached(B, T) counts distinct customers reached with a template while their window was closed,
    /// in (T - 24 h, T], exactly at any T; a live template that would reach one more than the limit
    /// is refused; one to a customer already reached is not.
    @Test func reachedCountsDistinctCustomersAndTheLimitRefuses() async throws {
        try await withStore { store in
            let customers = (0..<4).map { "4477009001\($0)" }
            _ = try store.record(customers.map { .control(Control(business: "b", customer: $0, actor: .customer, action: .optIn, at: t0 - day)) })
            try store.setMessagingLimit(business: "b", limit: 2)
            #expect(try await store.send(template("m.0", t0, .utility, customer: customers[0], business: "b")).isSent)
            #expect(try await store.send(template("m.1", t0 + hour, .utility, customer: customers[1], business: "b")).isSent)
            // Two reached: a third customer is refused, the first may get another template.
            #expect(try await store.send(template("m.2", t0 + 2 * hour, .utility, customer: customers[2], business: "b")) == .refused(.limitReached))
            #expect(try await store.send(template("m.0b", t0 + 3 * hour, .utility, customer: customers[0], business: "b")).isSent)
            #expect(try store.messagingLimit(business: "b", at: t0 + 3 * hour) == MessagingLimitStatus(business: "b", at: t0 + 3 * hour, limit: 2, reached24h: 2))
            // 24 hours after the first reach, customer 0 still counts (reached again at +3 h), customer 1 does not yet drop.
            #expect(try store.messagingLimit(business: "b", at: t0 + day).reached24h == 2)
            #expect(try store.messagingLimit(business: "b", at: t0 + day + hour).reached24h == 1)
            #expect(try await store.send(template("m.2b", t0 + day + hour, .utility, customer: customers[2], business: "b")).isSent)
            // A template inside the customer's window is no reach.
            _ = try store.record([inbound("in.3", t0 + day + 2 * hour, business: "b", customer: customers[3])])
            #expect(try await store.send(template("m.3", t0 + day + 3 * hour, .utility, customer: customers[3], business: "b")).isSent)
            // Customer 0's reach at +3 h has just left the window (T - 24 h is excluded); customer 2 counts.
            #expect(try store.messagingLimit(business: "b", at: t0 + day + 3 * hour).reached24h == 1)
            // A failed template reaches nobody, also when its status arrives late.
            _ = try store.record([.status(StatusUpdate(business: "b", messageID: "m.2b", status: .failed, at: t0 + day + 4 * hour))])
            #expect(try store.messagingLimit(business: "b", at: t0 + day + 3 * hour).reached24h == 0)
            try store.setMessagingLimit(business: "b", limit: nil)
            #expect(try store.messagingLimit(business: "b", at: t0).limit == nil)
            #expect(throws: ConvoStoreError.self) { try store.setMessagingLimit(business: "b", limit: 0) }
        }
    }

    /// At every minute over three days of random reaches, the store's count equals a brute-force count.
    @Test(arguments: [11, 12] as [UInt64])
    func reachedIsExactAtAnyTime(seed: UInt64) throws {
        var rng = SeededGenerator(state: seed)
        var events: [Event] = []
        var reaches: [(customer: String, at: Int64)] = []
        for n in 0..<300 {
            let customer = "c\(Int.random(in: 0..<25, using: &rng))"
            let at = t0 + Int64.random(in: 0..<(3 * day), using: &rng) / 1000 * 1000
            events.append(.message(Message(id: "t\(n)", business: "b", customer: customer, direction: .outbound, at: at, kind: "template", category: .utility)))
            reaches.append((customer, at))
        }
        let opted = Set(reaches.map(\.customer)).map { Event.control(Control(business: "b", customer: $0, actor: .customer, action: .optIn, at: t0 - day)) }
        try withStore { store in
            var shuffled = opted + events
            shuffled.shuffle(using: &rng)
            _ = try store.record(shuffled)
            for at in stride(from: t0 - hour, to: t0 + 4 * day + hour, by: Int64.Stride(37 * 60_000)) {
                let want = Set(reaches.filter { $0.at <= at && $0.at > at - day }.map(\.customer)).count
                #expect(try store.messagingLimit(business: "b", at: at).reached24h == Int64(want), "at \(Timestamp.format(at))")
            }
        }
    }
}


extension SendResult {
    var isSent: Bool {
        if case .sent = self { return true }
        return false
    }
}
