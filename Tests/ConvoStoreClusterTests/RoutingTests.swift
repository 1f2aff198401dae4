import ConvoStoreCluster
import Testing

@Suite("Routing lines to partitions")
struct RoutingTests {
    let partitioner = Partitioner(partitions: 12)

    func route(_ router: inout LineRouter, _ line: String, _ number: Int = 1, format: LineFormat = .native) -> RouteDecision {
        router.route(Array(line.utf8), format: format, lineNumber: number)
    }

    @Test("The partition of a conversation is FNV-1a 64 of business, 0xFF, customer, modulo P")
    func stableHash() {
        // FNV-1a 64 of "b" 0xFF "c", computed by hand from the published constants.
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in Array("b".utf8) + [0xFF] + Array("c".utf8) { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        #expect(self.partitioner.partition(business: "b", customer: "c") == Int(h % 12))
        #expect(Partitioner(partitions: 1).partition(business: "x", customer: "y") == 0)
        // ("ab", "c") and ("a", "bc") are different conversations, with their own hashes.
        let spread = Set((0..<1_000).map { self.partitioner.partition(business: "1555000\($0 % 7)", customer: "44770\($0)") })
        #expect(spread.count == 12)
    }

    @Test("Messages, controls and statuses of one conversation land in one partition")
    func oneConversationOnePartition() throws {
        var router = LineRouter(partitioner: self.partitioner)
        let expected = self.partitioner.partition(business: "b1", customer: "c1")
        let lines = [
            #"{"type":"message","id":"m1","business":"b1","customer":"c1","direction":"out","at":1}"#,
            #"{"type":"status","business":"b1","id":"m1","status":"read","at":2}"#,
            #"{"type":"status","business":"b1","id":"m9","status":"read","at":2,"customer":"c1"}"#,
            #"{"type":"control","business":"b1","customer":"c1","by":"customer","action":"opt_in","at":3}"#,
        ]
        var ids: Set<String> = []
        for (i, line) in lines.enumerated() {
            guard case .publish(let targets) = self.route(&router, line, i + 1) else { Issue.record("line \(i + 1) not published"); continue }
            #expect(targets.map(\.partition) == [expected])
            ids.formUnion(targets.map(\.msgID))
        }
        #expect(ids.count == 4, "each line has its own message id")
        var again = LineRouter(partitioner: self.partitioner)
        #expect(self.route(&again, lines[0]) == self.route(&router, lines[0]), "the same line of the same input: the same message id")
    }

    @Test("A status naming no customer, of a message this run did not publish, is rejected with the reason")
    func unroutableStatus() {
        var router = LineRouter(partitioner: self.partitioner)
        let decision = self.route(&router, #"{"type":"status","business":"b1","id":"elsewhere","status":"read","at":2}"#)
        guard case .reject(let reason) = decision else { Issue.record("expected a reject, got \(decision)"); return }
        #expect(reason.contains("status of message \"elsewhere\"") && reason.contains("customer"))
        #expect(self.route(&router, "not json").isReject)
        #expect(self.route(&router, "   ") == .skip)
        #expect(self.route(&router, #"{"convostore_dump":1}"#) == .skip)
    }

    @Test("A user id linked to a phone number is routed as that number; a link after its events went elsewhere is rejected")
    func linkedUserIDs() {
        var router = LineRouter(partitioner: Partitioner(partitions: 64))
        let phonePartition = Partitioner(partitions: 64).partition(business: "b", customer: "447700900123")
        let link = #"{"type":"link","business":"b","user_id":"US.1","customer":"447700900123"}"#
        guard case .publish(let linked) = self.route(&router, link) else { Issue.record("link not published"); return }
        #expect(linked.map(\.partition) == [phonePartition])
        guard case .publish(let later) = self.route(&router, #"{"type":"message","id":"u1","business":"b","customer":"US.1","direction":"in","at":5}"#, 2) else {
            Issue.record("message not published"); return
        }
        #expect(later.map(\.partition) == [phonePartition])

        // A user id whose events went to its own partition, then linked to a number elsewhere.
        var other = LineRouter(partitioner: Partitioner(partitions: 64))
        let user = (0..<100).map { "US.\($0)" }.first { Partitioner(partitions: 64).partition(business: "b", customer: $0) != phonePartition }!
        _ = self.route(&other, #"{"type":"message","id":"u2","business":"b","customer":"\#(user)","direction":"in","at":5}"#)
        let conflict = self.route(&other, #"{"type":"link","business":"b","user_id":"\#(user)","customer":"447700900123"}"#, 2)
        guard case .reject(let reason) = conflict else { Issue.record("expected a reject, got \(conflict)"); return }
        #expect(reason.contains("cannot merge"))
    }

    @Test("A webhook delivery naming two customers goes to each one's partition with that partition's items")
    func webhookSplit() throws {
        var router = LineRouter(partitioner: Partitioner(partitions: 64))
        let customers = (0..<100).map { "4477009\(String($0))" }
        let first = customers[0]
        let second = customers.first { Partitioner(partitions: 64).partition(business: "15550001111", customer: $0) != Partitioner(partitions: 64).partition(business: "15550001111", customer: first) }!
        let delivery = #"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"15550001111"},"messages":[{"from":"\#(first)","id":"wamid.a","timestamp":"1751364000","type":"text","text":{"body":"hi"}},{"from":"\#(second)","id":"wamid.b","timestamp":"1751364001","type":"text","text":{"body":"hello"}},{"from":"\#(first)","id":"wamid.c","timestamp":"1751364002","type":"text","text":{"body":"again"}}]}}]}]}"#
        guard case .publish(let targets) = self.route(&router, delivery, format: .webhook) else { Issue.record("delivery not published"); return }
        let byPartition = Dictionary(uniqueKeysWithValues: targets.map { ($0.partition, $0.headers[ClusterLayout.itemsHeader]!) })
        #expect(byPartition[Partitioner(partitions: 64).partition(business: "15550001111", customer: first)] == "0,2")
        #expect(byPartition[Partitioner(partitions: 64).partition(business: "15550001111", customer: second)] == "1")
        #expect(targets.allSatisfy { $0.headers[ClusterLayout.formatHeader] == "webhook" })
        #expect(Set(targets.map(\.msgID)).count == 2)
    }
}

extension RouteDecision {
    var isReject: Bool {
        if case .reject = self { return true }
        return false
    }
}
