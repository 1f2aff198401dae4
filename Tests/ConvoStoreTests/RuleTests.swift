import ConvoStore
import Testing

@Suite struct WindowAndReplies {
    @Test func windowIsOpenUntilJustBeforeTPlus24h() throws {
        try withStore { store throws in
            _ = try store.record([inbound("m1", t0)])
            #expect(try store.state(t0).windowOpen)
            #expect(try store.state(t0 + day - 1).windowOpen)
            #expect(try store.state(t0 + day).windowOpen == false)
            #expect(try store.state(t0 - 1).windowOpen == false)
            #expect(try store.state(t0).windowExpiresAt == t0 + day)
            #expect(try store.checkSend(business: "b", customer: "c", at: t0 + day - 1) == .free)
            #expect(try store.checkSend(business: "b", customer: "c", at: t0 + day) == .violation(.outsideWindow))
        }
    }

    @Test func outboundAtTheSameMillisecondAnswers() throws {
        try withStore { store throws in
            _ = try store.record([inbound("m1", t0), outbound("r1", t0)])
            let s = try store.state(t0)
            #expect(s.waitingSince == nil)
            #expect(s.replyDueAt == nil)
            #expect(try store.overdue(asOf: t0 + 10 * day).isEmpty)
        }
    }

    @Test func waitingSinceIsTheEarliestUnansweredInbound() throws {
        try withStore { store throws in
            _ = try store.record([inbound("m1", t0), outbound("r1", t0 + hour), inbound("m2", t0 + 2 * hour), inbound("m3", t0 + 3 * hour)])
            let s = try store.state(t0)
            #expect(s.waitingSince == t0 + 2 * hour)
            #expect(s.replyDueAt == t0 + 2 * hour + day)
            #expect(try store.overdue(asOf: t0 + 2 * hour + day - 1).isEmpty)
            #expect(try store.overdue(asOf: t0 + 2 * hour + day).map(\.customer) == ["c"])
            #expect(try store.newlyOverdue(after: t0 + 2 * hour + day - 1, until: t0 + 2 * hour + day).count == 1)
            #expect(try store.newlyOverdue(after: t0 + 2 * hour + day, until: t0 + 3 * day).isEmpty)
            // The window refreshes on each inbound; the business's replies never extend it.
            #expect(s.windowExpiresAt == t0 + 3 * hour + day)
        }
    }

    @Test func scansAreOrderedByDueThenBusinessThenCustomerBytes() throws {
        try withStore { store throws in
            _ = try store.record([
                inbound("1", t0, business: "b2", customer: "a"), inbound("2", t0, business: "b1", customer: "z"),
                inbound("3", t0, business: "b1", customer: "y"), inbound("4", t0 - 1, business: "b9", customer: "x"),
                inbound("5", t0, business: "b1", customer: "y\u{0}"), inbound("6", t0, business: "b", customer: "zz"),
            ])
            let list = try store.overdue(asOf: t0 + day).map { "\($0.business)/\($0.customer)" }
            #expect(list == ["b9/x", "b/zz", "b1/y", "b1/y\u{0}", "b1/z", "b2/a"])
            #expect(try store.overdue(asOf: t0 + day, business: "b1", limit: 2).map(\.customer) == ["y", "y\u{0}"])
            #expect(try store.windowsClosing(from: t0 + day, to: t0 + day + 1).count == 5)
            #expect(try store.windowsClosing(from: t0 + day - 1, to: t0 + day, business: "b9").map(\.customer) == ["x"])
            #expect(try store.inbox(business: "b1").map(\.customer) == ["y", "y\u{0}", "z"])
        }
    }

    @Test func perBusinessReplySLAMovesDueTimes() throws {
        try withStore { store throws in
            _ = try store.record([inbound("1", t0, business: "fast"), inbound("2", t0, business: "slow")])
            try store.setReplySLA(business: "fast", millis: hour)
            #expect(try store.overdue(asOf: t0 + hour).map(\.business) == ["fast"])
            #expect(try store.state(t0, business: "fast").replyDueAt == t0 + hour)
            try store.setReplySLA(business: "fast", millis: nil)
            #expect(try store.overdue(asOf: t0 + hour).isEmpty)
            #expect(try store.check().isHealthy)
        }
    }

    @Test func scansReturnIdsThatHoldZeroBytesAndPrefixesOfEachOther() throws {
        // Keys hold ids in an order-preserving encoding (0x00 escaped, 0x00 0x00 ends an id); the scans
        // decode them straight from the mapped bytes unless an id holds a 0x00.
        let ids = [("b", "c"), ("b", "c\u{0}d"), ("b\u{0}x", "c"), ("bb", "c\u{0}")]
        try withStore { store throws in
            for (i, (business, customer)) in ids.enumerated() {
                _ = try store.record([inbound("m\(i)", t0 + Int64(i), business: business, customer: customer)])
            }
            let expected = ids.enumerated().map { "\($0.element.0)|\($0.element.1)|\(t0 + Int64($0.offset) + day)" }
            #expect(try store.overdue(asOf: t0 + 2 * day).map { "\($0.business)|\($0.customer)|\($0.replyDueAt)" } == expected)
            #expect(try store.newlyOverdue(after: t0, until: t0 + 2 * day).map { "\($0.business)|\($0.customer)|\($0.replyDueAt)" } == expected)
            #expect(try store.windowsClosing(from: t0, to: t0 + 2 * day).map { "\($0.business)|\($0.customer)|\($0.windowExpiresAt)" } == expected)
            #expect(try store.overdue(asOf: t0 + 2 * day, business: "b").map(\.customer) == ["c", "c\u{0}d"])
            // The same walk read in place gives the same entries, and stops when asked to.
            var walked: [String] = []
            try store.read { reader in
                try reader.forEachNewlyOverdueEntry(after: t0, until: t0 + 2 * day) { entry in
                    walked.append("\(try entry.business)|\(try entry.customer)|\(entry.replyDueAt)|\(entry.waitingSince)")
                    return walked.count < 3
                }
            }
            #expect(walked == ids.prefix(3).enumerated().map { "\($0.element.0)|\($0.element.1)|\(t0 + Int64($0.offset) + day)|\(t0 + Int64($0.offset))" })
            try expectHealthy(store)
        }
    }
}

@Suite struct EntryPointsAndCharges {
    @Test func onlyTheFirstEntryPointOpensAFreeWindow() throws {
        try withStore { store throws in
            _ = try store.record([
                inbound("m1", t0, entry: true), inbound("m2", t0 + 10 * hour, entry: true),
                // 30 h after the first entry point: outside its 24 h, inside the second's.
                outbound("r1", t0 + 30 * hour, template: .marketing),
            ])
            #expect(try store.outcome(of: "r1") == .charged(.marketing))
        }
        try withStore { store throws in
            _ = try store.record([inbound("m1", t0, entry: true), outbound("r1", t0 + 23 * hour, template: .marketing),
                                  outbound("r2", t0 + 23 * hour + 3 * day - 1, template: .marketing),
                                  outbound("r3", t0 + 23 * hour + 3 * day, template: .marketing)])
            #expect(try store.outcome(of: "r1") == .free)
            #expect(try store.outcome(of: "r2") == .free)
            #expect(try store.outcome(of: "r3") == .charged(.marketing))
            #expect(try store.state(t0).freeWindow == (t0 + 23 * hour)..<(t0 + 23 * hour + 3 * day))
        }
    }

    @Test func templatesNeedConsentAndRespectOptOutAndRestriction() throws {
        try withStore { store throws in
            _ = try store.record([outbound("a", t0, template: .utility)])
            #expect(try store.outcome(of: "a") == .violation(.noOptIn))
            _ = try store.record([control(.optIn, t0 + 1), outbound("b", t0 + 2, template: .utility)])
            #expect(try store.outcome(of: "b") == .charged(.utility))
            _ = try store.record([inbound("m", t0 + 3), outbound("c", t0 + 4, template: .utility), outbound("d", t0 + 5, template: .authentication)])
            #expect(try store.outcome(of: "c") == .free)
            #expect(try store.outcome(of: "d") == .charged(.authentication))
            _ = try store.record([control(.restrict, t0 + 6), outbound("e", t0 + 7, template: .marketing), outbound("f", t0 + 8, template: .utility)])
            #expect(try store.outcome(of: "e") == .violation(.restricted))
            #expect(try store.outcome(of: "f") == .free)
            _ = try store.record([control(.marketingOptOut, t0 + 9), outbound("g", t0 + 10, template: .marketing)])
            #expect(try store.outcome(of: "g") == .violation(.optedOut))
            let bill = try store.billing(business: "b")
            #expect(bill.charged == [.utility: 1, .authentication: 1])
            #expect(bill.free == 2)
            #expect(bill.violations == [.noOptIn: 1, .restricted: 1, .optedOut: 1])
            #expect(bill.amountMicros == 8_000)
            #expect(try store.billing(business: "b", from: t0 + 1, to: t0 + 5).amountMicros == 4_000)
        }
    }

    @Test func aLateInboundReclassifiesLaterSends() throws {
        try withStore { store throws in
            _ = try store.record([outbound("r1", t0 + hour), outbound("r2", t0 + 2 * hour, template: .utility)])
            #expect(try store.outcome(of: "r1") == .violation(.outsideWindow))
            #expect(try store.outcome(of: "r2") == .violation(.noOptIn))
            _ = try store.record([inbound("late", t0)])
            #expect(try store.outcome(of: "r1") == .free)
            #expect(try store.outcome(of: "r2") == .free)
            #expect(try store.billing(business: "b").violations.isEmpty)
            #expect(try store.check().isHealthy)
        }
    }
}

@Suite struct Controls {
    @Test func latestControlWinsAndEqualTimesGoToTheLastRecorded() throws {
        try withStore { store throws in
            _ = try store.record([inbound("m", t0), control(.block, t0 + 10), control(.unblock, t0 + 20)])
            #expect(try store.state(t0).blocked == false)
            #expect(try store.checkSend(business: "b", customer: "c", at: t0 + 15) == .violation(.blocked))
            #expect(try store.checkSend(business: "b", customer: "c", at: t0 + 20) == .free)
            _ = try store.record([control(.restrict, t0 + 30), control(.unrestrict, t0 + 30)])
            #expect(try store.state(t0).restricted == false)
            _ = try store.record([control(.restrict, t0 + 30)])
            #expect(try store.state(t0).restricted)
        }
    }

    @Test func spamReportBlocksUntilUnblockAndBlockedIsNotOverdue() throws {
        try withStore { store throws in
            _ = try store.record([inbound("m", t0), control(.reportSpam, t0 + 1)])
            #expect(try store.state(t0).blocked)
            #expect(try store.overdue(asOf: t0 + 2 * day).isEmpty)
            #expect(try store.windowsClosing(from: t0, to: t0 + 2 * day).count == 1)
            _ = try store.record([control(.unblock, t0 + 2)])
            #expect(try store.overdue(asOf: t0 + 2 * day).count == 1)
            _ = try store.record([control(.block, t0 + 3, by: .business)])
            #expect(try store.state(t0).blocked)
            #expect(try store.overdue(asOf: t0 + 2 * day).isEmpty)
        }
    }

    @Test func liveBusinessBlockNeedsAnOpenWindow() async throws {
        try await withStore { store throws in
            let outside = try await store.apply(Control(business: "b", customer: "c", actor: .business, action: .block, at: t0))
            #expect(outside == .rejected(.businessBlockOutsideWindow(business: "b", customer: "c")))
            _ = try await store.submit([inbound("m", t0)])
            #expect(try await store.apply(Control(business: "b", customer: "c", actor: .business, action: .block, at: t0 + day - 1)) == .recorded)
            #expect(try store.state(t0).blocked)
            // History may hold a business block at any time.
            #expect(try await store.submit([control(.block, t0 + 5 * day, by: .business, customer: "d")]) == [.recorded])
        }
    }
}

@Suite struct MessagesAndStatuses {
    @Test func liveSendRefusesAndRecordsNothing() async throws {
        try await withStore { store throws in
            let refused = try await store.send(Message(id: "x", business: "b", customer: "c", direction: .outbound, at: t0))
            #expect(refused == .refused(.outsideWindow))
            #expect(try store.conversation(business: "b", customer: "c", at: t0) == nil)
            _ = try await store.submit([inbound("m", t0)])
            let sent = try await store.send(Message(id: "y", business: "b", customer: "c", direction: .outbound, at: t0 + 1, kind: "template", category: .marketing))
            #expect(sent == .sent(.charged(.marketing), amountMicros: 25_000))
            #expect(try store.billing(business: "b").amountMicros == 25_000)
        }
    }

    @Test func statusesMoveForwardAndWaitForTheirMessage() throws {
        try withStore { store throws in
            let status = { (s: MessageStatus, at: Int64) in Event.status(StatusUpdate(business: "b", messageID: "r", status: s, at: at)) }
            _ = try store.record([status(.delivered, t0 + 2)])
            _ = try store.record([inbound("m", t0), outbound("r", t0 + 1)])
            #expect(try store.history(business: "b", customer: "c").first?.status == .delivered)
            _ = try store.record([status(.sent, t0 + 1)])
            #expect(try store.history(business: "b", customer: "c").first?.status == .delivered)
            _ = try store.record([status(.read, t0 + 3), status(.failed, t0 + 4), status(.read, t0 + 5)])
            #expect(try store.history(business: "b", customer: "c").first?.status == .failed)
            #expect(try store.check().isHealthy)
        }
    }

    @Test func duplicatesAreIdempotentAndConflictsRejected() throws {
        try withStore { store throws in
            #expect(try store.record([inbound("m", t0), inbound("m", t0)]) == [.recorded, .duplicate])
            let conflict = try store.record([inbound("m", t0 + 1)])
            #expect(conflict == [.rejected(.conflictingMessage(business: "b", id: "m"))])
            #expect(try store.state(t0).messagesIn == 1)
        }
    }

    /// The id index finds a message by a hash of its business and id, so one id under two businesses
    /// (imports of test data do that) must stay two messages: each status, duplicate and conflict
    /// goes to its own business's message, and erasing one leaves the other findable.
    @Test func oneIDUnderTwoBusinessesStaysTwoMessages() throws {
        try withStore { store throws in
            let status = { (business: String, s: MessageStatus, at: Int64) in
                Event.status(StatusUpdate(business: business, messageID: "wamid.1", status: s, at: at))
            }
            #expect(try store.record([inbound("in.a", t0, business: "a"), inbound("in.b", t0, business: "b")]) == [.recorded, .recorded])
            #expect(try store.record([outbound("wamid.1", t0 + 1, business: "a"), outbound("wamid.1", t0 + 2, business: "b")]) == [.recorded, .recorded])
            #expect(try store.record([status("a", .read, t0 + 3), status("b", .delivered, t0 + 4)]) == [.recorded, .recorded])
            #expect(try store.history(business: "a", customer: "c").first { $0.message.id == "wamid.1" }?.status == .read)
            #expect(try store.history(business: "b", customer: "c").first { $0.message.id == "wamid.1" }?.status == .delivered)
            #expect(try store.record([outbound("wamid.1", t0 + 1, business: "a")]) == [.duplicate])
            #expect(try store.record([outbound("wamid.1", t0 + 1, business: "b")]) == [.rejected(.conflictingMessage(business: "b", id: "wamid.1"))])
            try expectHealthy(store)
            _ = try store.erase(customer: "c", business: "a")
            #expect(try store.record([status("b", .read, t0 + 5)]) == [.recorded])
            #expect(try store.history(business: "b", customer: "c").first { $0.message.id == "wamid.1" }?.status == .read)
            try expectHealthy(store)
        }
    }

    @Test func limitsNameTheFieldAndTheLimit() throws {
        try withStore { store throws in
            let longID = String(repeating: "x", count: 65)
            #expect(try store.record([inbound("m", t0, business: longID)]) == [.rejected(.limitExceeded(field: "business", limit: 64, actual: 65))])
            let body = Event.message(Message(id: "m", business: "b", customer: "c", direction: .inbound, at: t0, body: [UInt8](repeating: 0, count: 65_537), bodyIsText: false))
            #expect(try store.record([body]) == [.rejected(.limitExceeded(field: "body", limit: 65_536, actual: 65_537))])
            #expect(try store.record([inbound(String(repeating: "i", count: 129), t0)]) == [.rejected(.limitExceeded(field: "id", limit: 128, actual: 129))])
            #expect(try store.conversation(business: "b", customer: "c", at: t0) == nil)
        }
    }

    @Test func bodiesAreOpaqueBytesAndHistoryPagesNewestFirst() throws {
        try withStore { store throws in
            let cipher: [UInt8] = [0, 255, 10, 13, 0x22, 0x5C, 200]
            var events = [Event.message(Message(id: "m0", business: "b", customer: "c", direction: .inbound, at: t0, body: cipher, bodyIsText: false))]
            for i in 1...9 { events.append(i % 2 == 0 ? inbound("m\(i)", t0 + Int64(i)) : outbound("r\(i)", t0 + Int64(i))) }
            _ = try store.record(events)
            let first = try store.history(business: "b", customer: "c", limit: 4)
            #expect(first.map(\.message.id) == ["r9", "m8", "r7", "m6"])
            let second = try store.history(business: "b", customer: "c", before: first.last!.position, limit: 10)
            #expect(second.map(\.message.id) == ["r5", "m4", "r3", "m2", "r1", "m0"])
            #expect(second.last?.message.body == cipher)
        }
    }
}
