import ConvoStore
import TestSupport
import Testing

// The README's "Embedding the store" example, verbatim but for the directory, so that it compiles
// (and runs) as part of the tests.
func embeddingExample(directory: String) async throws -> (SendResult, [WaitingConversation], [ClosingWindow], BillingSummary) {
    let store = try ConvoStore.open(at: directory)  // durable by default; settings are kept in the store

    // A webhook handler records what the customer wrote; it returns after the group commit that holds it.
    _ = try await store.submit([.message(Message(
        id: "wamid.1", business: "15550001111", customer: "447700900123",
        direction: .inbound, at: 1_751_364_000_000, body: Array("hello".utf8)))])

    // Before replying: may the business send this, and what will it cost? Checked and recorded in one transaction.
    let reply = Message(
        id: "wamid.2", business: "15550001111", customer: "447700900123",
        direction: .outbound, at: 1_751_364_060_000, kind: "template", category: .marketing)
    let sent = try await store.send(reply)
    switch sent {
    case .sent(let outcome, let amountMicros): print("sent:", outcome, amountMicros)
    case .refused(let violation): print("refused:", violation.name)  // e.g. outside_window, opted_out
    case .duplicate, .rejected: break
    }

    // Dashboards: overdue replies, windows closing soon, spend; each costs O(log n + results).
    let now: Int64 = 1_751_450_400_000
    let overdue = try store.overdue(asOf: now, limit: 100)
    let closing = try store.windowsClosing(from: now, to: now + 3_600_000)
    let spend = try store.billing(business: "15550001111", from: 1_751_328_000_000, to: 1_753_920_000_000)
    store.close()
    return (sent, overdue, closing, spend)
}

@Test func theReadmeEmbeddingExampleRuns() async throws {
    try await withTemporaryDirectory { dir in
        let (sent, overdue, closing, spend) = try await embeddingExample(directory: dir + "/store")
        #expect(sent == .sent(.charged(.marketing), amountMicros: 25_000))
        #expect(overdue.isEmpty)  // the template answered the customer
        #expect(closing.map(\.customer) == ["447700900123"])
        #expect(spend.amountMicros == 25_000)
    }
}
