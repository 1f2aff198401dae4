import ConvoStore
import Foundation
import TestSupport
import Testing

// The 2026 webhook deliveries end to end: converted by the parser and recorded by the store through
// `import --format webhook` (DumpImporter), then read back. The mapping is docs/webhooks.md; the rules are
// R2 and R6 and "Other customer activity" of domain.md.

/// Webhook deliveries built from dictionaries, for the scenarios below (the fixtures hold the documented shapes).
private enum Hook {
    static let business = "106540352242922"
    static let phone = "16505551234"
    static let userID = "US.13491208655302741918"
    /// 2026-04-15T10:00:00Z, in epoch milliseconds.
    static let t: Int64 = 1_776_247_200_000
    static let minute: Int64 = 60_000
    static let hour: Int64 = 3_600_000

    /// One delivery of one change: the JSON body as one line.
    static func delivery(_ field: String, _ value: [String: Any]) -> String {
        var value = value
        value["messaging_product"] = "whatsapp"
        value["metadata"] = ["display_phone_number": "15550783881", "phone_number_id": business]
        let body: [String: Any] = ["object": "whatsapp_business_account",
                                   "entry": [["id": "102290129340398", "changes": [["field": field, "value": value]]]]]
        let data = try! JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    static func seconds(_ ms: Int64) -> String { String(ms / 1000) }

    /// An inbound text naming the customer by phone number, by user id, or both (which links them).
    static func inbound(_ id: String, at: Int64, phone: String? = phone, userID: String? = nil) -> String {
        var message: [String: Any] = ["id": id, "timestamp": seconds(at), "type": "text", "text": ["body": "question \(id)"]]
        var contact: [String: Any] = ["profile": ["name": "Sheena Nelson"]]
        if let phone { message["from"] = phone; contact["wa_id"] = phone }
        if let userID { message["from_user_id"] = userID; contact["user_id"] = userID }
        return delivery("messages", ["contacts": [contact], "messages": [message]])
    }

    /// A status of an outbound message sent to the phone number (or, with `userID` and no phone, to the user id).
    static func status(_ id: String, _ status: String, at: Int64, phone: String? = phone, userID: String? = nil,
                       pricing category: String? = nil) -> String {
        var entry: [String: Any] = ["id": id, "status": status, "timestamp": seconds(at)]
        if let phone { entry["recipient_id"] = phone }
        if let userID { entry["recipient_user_id"] = userID }
        if let category {
            entry["pricing"] = ["billable": category != "service", "pricing_model": "PMP", "category": category,
                                "type": category == "service" ? "free_customer_service" : "regular"]
        }
        if status == "failed" {
            entry["errors"] = [["code": 131049, "title": "This message was not delivered to maintain healthy ecosystem engagement."]]
        }
        return delivery("messages", ["statuses": [entry]])
    }
}

/// Imports webhook lines: all in one archive file, or (`oneAtATime`) each delivery as its own import.
@discardableResult
private func importWebhooks(_ lines: [String], into store: ConvoStore, dir: String, oneAtATime: Bool = false,
                            sourceLocation: SourceLocation = #_sourceLocation) throws -> [ImportSummary] {
    var options = ImportOptions()
    options.format = .webhook
    let batches = oneAtATime ? lines.map { [$0] } : [lines]
    var summaries: [ImportSummary] = []
    for (n, batch) in batches.enumerated() {
        let path = dir + "/webhooks-\(UUID().uuidString)-\(n).jsonl"
        try (batch.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)
        var reports: [String] = []
        let summary = try DumpImporter(store: store, options: options) { reports.append($0) }.importFile(path)
        #expect(summary.rejected == 0, "rejected: \(reports)", sourceLocation: sourceLocation)
        summaries.append(summary)
    }
    return summaries
}

/// A store in a fresh temporary directory, checked when the body is done.
private func withWebhookStore<T>(_ body: (ConvoStore, String) throws -> T) throws -> T {
    try withTemporaryDirectory { dir in
        let store = try ConvoStore.open(at: dir + "/store-\(UUID().uuidString)")
        defer { store.close() }
        let result = try body(store, dir)
        try expectHealthy(store)
        return result
    }
}

private func exportLines(_ store: ConvoStore) throws -> [String] {
    var lines: [String] = []
    try store.export { lines.append($0) }
    return lines
}

/// A seeded shuffle, so that a failure names an order that can be replayed.
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        self.state &+= 0x9E37_79B9_7F4A_7C15
        var z = self.state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite struct WebhookStoreEndToEnd {
    /// Every 2026 fixture delivery, in file order.
    private func fixtureArchive() throws -> [String] {
        try webhookFixtures2026.flatMap { try fixtureLines($0) }
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func theSameStoreHoweverTheArchiveArrives(seed: UInt64) throws {
        let archive = try self.fixtureArchive()
        var rng = SplitMix64(state: seed)
        let shuffled = archive.shuffled(using: &rng)
        let expected = try withWebhookStore { store, dir in
            let summaries = try importWebhooks(archive, into: store, dir: dir)
            #expect(summaries.first?.linesRead == archive.count)
            return try exportLines(store)
        }
        // The links the deliveries name are part of the store: an export must carry them.
        #expect(expected.contains { $0.hasPrefix(#"{"type":"link""#) })
        for (name, lines, oneAtATime) in [("one at a time", archive, true), ("shuffled", shuffled, false), ("shuffled, one at a time", shuffled, true)] {
            let export = try withWebhookStore { store, dir in
                try importWebhooks(lines, into: store, dir: dir, oneAtATime: oneAtATime)
                return try exportLines(store)
            }
            #expect(export == expected, "\(name), seed \(seed): \(Set(export).symmetricDifference(expected).sorted().prefix(6))")
        }
    }

    @Test func aCustomerSeenByPhoneAndLaterOnlyByUserIDIsOneConversation() throws {
        let t = Hook.t
        try withWebhookStore { store, dir in
            try importWebhooks([
                Hook.inbound("wamid.q1", at: t, userID: Hook.userID),  // names both: the link
                Hook.inbound("wamid.q2", at: t + Hook.hour, phone: nil, userID: Hook.userID),
            ], into: store, dir: dir)
            #expect(try store.statistics().conversations == 1)
            let state = try store.conversation(business: Hook.business, customer: Hook.phone, at: t + 2 * Hook.hour)
            #expect(state?.messagesIn == 2)
            #expect(state?.waitingSince == t)
            #expect(try store.overdue(asOf: t + 26 * Hook.hour).map(\.customer) == [Hook.phone])

            // A reply sent to the user id answers the phone number's conversation.
            try importWebhooks([Hook.status("wamid.r1", "sent", at: t + 2 * Hook.hour, phone: nil, userID: Hook.userID, pricing: "service")],
                               into: store, dir: dir)
            let answered = try store.conversation(business: Hook.business, customer: Hook.phone, at: t + 3 * Hook.hour)
            #expect(answered?.messagesOut == 1)
            #expect(answered?.waitingSince == nil)
            #expect(try store.overdue(asOf: t + 26 * Hook.hour).isEmpty)
            #expect(try store.statistics().conversations == 1)
        }
    }

    /// The conversation started under the user id is merged into the phone number's when the link arrives:
    /// afterwards there is one conversation, the phone number's, holding both messages, the same as when
    /// the link came first.
    @Test func aConversationStartedUnderTheUserIDJoinsThePhoneNumbersWhenTheLinkArrives() throws {
        let t = Hook.t
        let linkFirst = [Hook.inbound("wamid.q1", at: t + Hook.hour, userID: Hook.userID),
                         Hook.inbound("wamid.q0", at: t, phone: nil, userID: Hook.userID)]
        let expected = try withWebhookStore { store, dir in
            try importWebhooks(linkFirst, into: store, dir: dir)
            return try exportLines(store)
        }
        try withWebhookStore { store, dir in
            try importWebhooks([linkFirst[1]], into: store, dir: dir)
            #expect(try store.conversation(business: Hook.business, customer: Hook.userID, at: t)?.messagesIn == 1)
            try importWebhooks([linkFirst[0]], into: store, dir: dir)
            #expect(try store.statistics().conversations == 1)
            let state = try store.conversation(business: Hook.business, customer: Hook.phone, at: t + 2 * Hook.hour)
            #expect(state?.messagesIn == 2)
            #expect(state?.waitingSince == t)
            #expect(try store.overdue(asOf: t + 25 * Hook.hour).map(\.customer) == [Hook.phone])
            #expect(try exportLines(store) == expected)
        }
    }

    /// A question, a marketing template answering it, and that template's `failed` status (error 131049).
    private static let failedReply = (
        question: Hook.inbound("wamid.q1", at: Hook.t),
        sent: Hook.status("wamid.r1", "sent", at: Hook.t + 10 * Hook.minute, pricing: "marketing"),
        failed: Hook.status("wamid.r1", "failed", at: Hook.t + 11 * Hook.minute)
    )

    /// R6: a failed message is no answer and is not charged, also when its `failed` status arrives after
    /// everything else.
    @Test func aLateFailedStatusMakesTheQuestionOverdueAgainAndIsNotCharged() throws {
        let t = Hook.t
        let (question, sent, failed) = Self.failedReply
        let asOf = t + 25 * Hook.hour
        try withWebhookStore { store, dir in
            try importWebhooks([question, sent], into: store, dir: dir)
            // Before the failure: answered, and the marketing template charged (so the checks below can fail).
            #expect(try store.overdue(asOf: asOf).isEmpty)
            #expect(try store.billing(business: Hook.business).charged[.marketing] == 1)

            try importWebhooks([failed], into: store, dir: dir)
            #expect(try store.overdue(asOf: asOf).map(\.waitingSince) == [t])
            let state = try store.conversation(business: Hook.business, customer: Hook.phone, at: asOf)
            #expect(state?.waitingSince == t)
            let billing = try store.billing(business: Hook.business)
            #expect((billing.charged[.marketing] ?? 0) == 0)
            #expect(billing.amountMicros == 0)
            #expect(billing.violations.values.reduce(0, +) == 0)
            #expect(try store.history(business: Hook.business, customer: Hook.phone).first { $0.message.id == "wamid.r1" }?.status == .failed)
        }
    }

    /// The same three deliveries in any order give the same store (domain.md, "Time and order"), also when
    /// the `failed` status comes before the `sent` one that carries the pricing.
    @Test func theOrderAFailedMessagesStatusesArriveInDoesNotMatter() throws {
        let (question, sent, failed) = Self.failedReply
        let asOf = Hook.t + 25 * Hook.hour
        let expected = try withWebhookStore { store, dir in
            try importWebhooks([question, sent, failed], into: store, dir: dir, oneAtATime: true)
            return try exportLines(store)
        }
        for order in [[failed, sent, question], [sent, failed, question], [question, failed, sent]] {
            let export = try withWebhookStore { store, dir in
                try importWebhooks(order, into: store, dir: dir, oneAtATime: true)
                #expect(try store.overdue(asOf: asOf).map(\.waitingSince) == [Hook.t])
                #expect(try store.billing(business: Hook.business).amountMicros == 0)
                return try exportLines(store)
            }
            #expect(export == expected, "\(Set(export).symmetricDifference(expected).sorted())")
        }
    }

    @Test func aUserInitiatedCallWaitsForAnAnswerAndABusinessAppEchoGivesIt() throws {
        let t = Hook.t
        let call = Hook.delivery("calls", [
            "contacts": [["profile": ["name": "Sheena Nelson"], "wa_id": Hook.phone]],
            "calls": [["id": "wacid.c1", "from": Hook.phone, "to": "15550783881", "event": "connect", "timestamp": Hook.seconds(t),
                       "direction": "USER_INITIATED", "session": ["sdp_type": "offer", "sdp": "<<RFC 8866 SDP>>"]]],
        ])
        let echo = Hook.delivery("smb_message_echoes", [
            "message_echoes": [["from": "15550783881", "to": Hook.phone, "id": "wamid.e1", "timestamp": Hook.seconds(t + 5 * Hook.minute),
                                "type": "text", "text": ["body": "Sorry we missed you, how can we help?"]]],
        ])
        try withWebhookStore { store, dir in
            try importWebhooks([call], into: store, dir: dir)
            let called = try store.conversation(business: Hook.business, customer: Hook.phone, at: t + Hook.hour)
            #expect(called?.windowExpiresAt == t + 24 * Hook.hour)
            #expect(called?.canSendFreeform == true)
            #expect(called?.waitingSince == t)

            try importWebhooks([echo], into: store, dir: dir)
            let answered = try store.conversation(business: Hook.business, customer: Hook.phone, at: t + Hook.hour)
            #expect(answered?.waitingSince == nil)
            #expect(answered?.messagesOut == 1)
            #expect(try store.billing(business: Hook.business).violations.values.reduce(0, +) == 0)
        }
    }

    @Test func aWelcomeRequestOpensTheWindowForAFreeFormReply() throws {
        let t = Hook.t
        let welcome = Hook.delivery("messages", [
            "contacts": [["profile": ["name": "Mina"], "wa_id": Hook.phone]],
            "messages": [["from": Hook.phone, "id": "wamid.w1", "timestamp": Hook.seconds(t), "type": "request_welcome"]],
        ])
        let reply = Hook.status("wamid.r1", "sent", at: t + Hook.minute, pricing: "service")
        try withWebhookStore { store, dir in
            try importWebhooks([welcome], into: store, dir: dir)
            #expect(try store.conversation(business: Hook.business, customer: Hook.phone, at: t + Hook.minute)?.canSendFreeform == true)
            try importWebhooks([reply], into: store, dir: dir)
            let billing = try store.billing(business: Hook.business)
            #expect(billing.free == 1)
            #expect(billing.violations.values.reduce(0, +) == 0)
        }
    }
}
