import ConvoStore
import Foundation
import TestSupport
import Testing

/// `POST /v1/messages/send`: sent (free or charged), refused with the rule, duplicate, bad input.
@Suite struct SendRouteTests {
    static let business = "15550001111"
    static let customer = "447700900123"

    static func message(id: String, at: Int64, kind: String = "text", category: String? = nil, direction: String = "out", body: String = "hi") -> String {
        JSONWriter.object { o in
            o.field("type", "message")
            o.field("id", id)
            o.field("business", business)
            o.field("customer", customer)
            o.field("direction", direction)
            o.field("at", at)
            o.field("kind", kind)
            if let category { o.field("category", category) }
            o.field("body", body)
        }
    }

    @Test func sendAnswersSentRefusedAndDuplicate() async throws {
        try await withServer { client, files in
            let t0: Int64 = 1_751_364_000_000
            #expect(try await client.deliver(inboundDelivery(business: Self.business, customer: Self.customer, id: "wamid.in", seconds: t0 / 1000)).status == 200)

            // A free-form reply inside the window: sent, free.
            let reply = Self.message(id: "wamid.reply", at: t0 + 60_000)
            let sent = try await client.send(reply)
            #expect(sent.status == 200)
            #expect(sent.json["result"] as? String == "sent")
            #expect(sent.json["outcome"] as? String == "free")
            #expect(sent.json.keys.contains("category") && sent.json["category"] is NSNull)
            #expect(sent.json["amount_micros"] as? Int == 0)

            // The identical message again: duplicate.
            let duplicate = try await client.send(reply)
            #expect(duplicate.status == 200)
            #expect(duplicate.body == "{\"result\":\"duplicate\"}\n")

            // A marketing template: sent, charged in its category.
            let template = try await client.send(Self.message(id: "wamid.tpl", at: t0 + 120_000, kind: "template", category: "marketing"))
            #expect(template.status == 200)
            #expect(template.json["outcome"] as? String == "charged")
            #expect(template.json["category"] as? String == "marketing")
            let amount = template.json["amount_micros"] as? Int ?? -1
            #expect(amount >= 0)

            // A free-form message two days later, outside the window: refused, nothing recorded.
            let late = try await client.send(Self.message(id: "wamid.late", at: t0 + 2 * 86_400_000))
            #expect(late.status == 409)
            #expect(late.body == "{\"result\":\"refused\",\"violation\":\"outside_window\"}\n")

            // What the sends recorded is what billing reports.
            let billing = try cli(["billing", "--db", files.db, "--business", Self.business, "--json"])
            let summary = try JSONSerialization.jsonObject(with: Data(billing.utf8)) as? [String: Any] ?? [:]
            #expect(summary["amount_micros"] as? Int == amount)
            #expect(summary["free"] as? Int == 1)
            #expect((summary["violations"] as? [String: Int])?.values.reduce(0, +) == 0)
            let exported = try cli(["export", "--db", files.db])
            #expect(exported.contains("wamid.reply") && exported.contains("wamid.tpl") && !exported.contains("wamid.late"))
        }
    }

    @Test func badInputIs400WithAReason() async throws {
        try await withServer { client, _ in
            let t0: Int64 = 1_751_364_000_000
            #expect(try await client.deliver(inboundDelivery(business: Self.business, customer: Self.customer, id: "wamid.in", seconds: t0 / 1000)).status == 200)
            #expect(try await client.send(Self.message(id: "wamid.a", at: t0 + 1000)).status == 200)
            let bad: [(String, String)] = [
                ("not json", "invalid JSON"),
                ("[]", "not a JSON object"),
                (Self.message(id: "wamid.b", at: t0 + 2000, direction: "in"), "direction"),
                ("{\"type\":\"status\",\"business\":\"1\",\"id\":\"w\",\"status\":\"read\",\"at\":1}", "type"),
                (Self.message(id: "wamid.c", at: t0 + 3000).replacingOccurrences(of: "\"customer\":\"447700900123\",", with: ""), "customer"),
                (Self.message(id: String(repeating: "x", count: 200), at: t0 + 3000), "id"),
                (Self.message(id: "wamid.d", at: t0 + 3000, kind: "template"), "category"),
                // The id of an earlier message with other content.
                (Self.message(id: "wamid.a", at: t0 + 1000, body: "other"), "different content"),
            ]
            for (body, reason) in bad {
                let answer = try await client.send(body)
                #expect(answer.status == 400, "\(body)")
                #expect((answer.json["error"] as? String)?.contains(reason) == true, "\(body): \(answer.body)")
            }
        }
    }

    @Test func bodiesOverOneMiBAre413BeforeBeingReadWhole() async throws {
        try await withServer { client, files in
            let big = [UInt8](repeating: UInt8(ascii: "a"), count: (1 << 20) + 1)
            // Declared length over the limit: refused from the head.
            let declared = try await client.request(.POST, "/webhook", body: big, headers: [("X-Hub-Signature-256", "sha256=" + String(repeating: "0", count: 64))], token: nil)
            #expect(declared.status == 413)
            let send = try await client.request(.POST, "/v1/messages/send", body: big)
            #expect(send.status == 413)
            // Exactly the limit is read (and then refused for what it is: here a forged signature).
            let atLimit = try await client.request(
                .POST, "/webhook", body: Array(big.dropLast()), headers: [("X-Hub-Signature-256", "sha256=" + String(repeating: "0", count: 64))], token: nil)
            #expect(atLimit.status == 401)
            // The server still answers on a new request afterwards.
            #expect(try await client.get("/health", token: nil).status == 200)
            #expect(try String(contentsOfFile: files.rejectsPath, encoding: .utf8).isEmpty)
        }
    }
}
