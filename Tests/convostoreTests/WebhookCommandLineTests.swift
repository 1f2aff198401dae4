import Foundation
import TestSupport
import Testing

// `convostore import --format webhook` with the 2026 delivery kinds (issue 18), and what `billing --json`,
// `show` and `export` make of them (contract: "Webhook archive format", `billing`'s `failed` and `platform`).

/// The 2026 fixture files of the library's tests (Tests/ConvoStoreTests/Fixtures/webhook), one archive.
private func fixtureArchive() throws -> String {
    let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ConvoStoreTests/Fixtures/webhook")
    return try ["user_ids.jsonl", "failed.jsonl", "pricing.jsonl", "echoes.jsonl", "calls.jsonl", "unclear_kinds.jsonl"]
        .map { try String(contentsOf: directory.appendingPathComponent($0), encoding: .utf8) }
        .joined()
}

/// One delivery of one change of `field` for `business`: the JSON body as one line.
private func delivery(_ field: String, business: String, _ value: [String: Any]) -> String {
    var value = value
    value["messaging_product"] = "whatsapp"
    value["metadata"] = ["display_phone_number": "15550783881", "phone_number_id": business]
    let body: [String: Any] = ["object": "whatsapp_business_account", "entry": [["id": "102290129340398", "changes": [["field": field, "value": value]]]]]
    return String(decoding: try! JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]), as: UTF8.self)
}

/// 2026-04-15T10:00:00Z in Unix seconds, and the same in milliseconds.
private let t: Int = 1_776_247_200
private let tMillis = t * 1000

private func question(_ id: String, from customer: String, business: String, at seconds: Int) -> String {
    delivery("messages", business: business, ["messages": [["from": customer, "id": id, "timestamp": String(seconds), "type": "text", "text": ["body": "?"]]]])
}

private func status(_ id: String, _ status: String, to customer: String, business: String, at seconds: Int, pricing: [String: Any]? = nil) -> String {
    var entry: [String: Any] = ["id": id, "status": status, "timestamp": String(seconds), "recipient_id": customer]
    if let pricing { entry["pricing"] = pricing }
    if status == "failed" { entry["errors"] = [["code": 131049, "title": "This message was not delivered to maintain healthy ecosystem engagement."]] }
    return delivery("messages", business: business, ["statuses": [entry]])
}

@Suite(.serialized) struct WebhookCommandLine {
    @Test func theFixtureArchiveImportsWithoutRejectsAndAgainWithoutChanges() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/db"
            let archive = try fixtureArchive()
            let file = dir + "/webhooks.jsonl"
            try archive.write(toFile: file, atomically: true, encoding: .utf8)
            let lines = archive.split(separator: "\n").count

            let imported = try convostore(["import", "--format", "webhook", "--db", db, file])
            #expect(imported.status == 0, "\(imported.stderr)")
            #expect(imported.stderr.contains("read \(lines) lines"))
            #expect(imported.stderr.contains("rejected 0"))
            // 2 echoes (revoke, edit), 3 calls (terminate, business-initiated, RINGING), 5 unclear kinds (edit, revoke,
            // unsupported edit, group message, group status)
            #expect(imported.stderr.contains("10 webhook parts skipped"))

            // The same deliveries again (from stdin, so no resume): nothing new, links included.
            let again = try convostore(["import", "--format", "webhook", "--db", db, "-"], stdin: .text(archive), in: dir)
            #expect(again.status == 0)
            #expect(again.stderr.contains("imported 0"), "\(again.stderr)")

            // Export then import reproduces the store: statuses keep their pricing, links are kept.
            let exported = dir + "/export.jsonl"
            #expect(try convostore(["export", "--db", db, "--output", exported]).status == 0)
            let dump = try String(contentsOfFile: exported, encoding: .utf8)
            #expect(dump.contains(#""pricing":{"pricing_model":"PMP""#))
            #expect(dump.contains(#"{"type":"link","business":"106540352242922","user_id":"GB.40281937465019283746","customer":"447700900123"}"#))
            let copy = dir + "/copy"
            #expect(try convostore(["import", "--db", copy, exported]).status == 0)
            let reexported = dir + "/reexport.jsonl"
            #expect(try convostore(["export", "--db", copy, "--output", reexported]).status == 0)
            #expect(try String(contentsOfFile: reexported, encoding: .utf8) == dump)
        }
    }

    @Test func billingReportsFailedMessagesAndThePlatformsOwnPricing() throws {
        try withTemporaryDirectory { dir in
            let db = dir + "/db"
            let (a, b) = ("106540352242922", "110200345501442")
            let archive = [
                // Business A: a marketing template the platform charged, a free service reply, and an echo no status priced.
                question("wamid.q1", from: "16505551234", business: a, at: t),
                status("wamid.r1", "sent", to: "16505551234", business: a, at: t + 60,
                       pricing: ["billable": true, "pricing_model": "PMP", "category": "marketing", "type": "regular"]),
                status("wamid.r2", "delivered", to: "16505551234", business: a, at: t + 120,
                       pricing: ["billable": false, "pricing_model": "PMP", "category": "service", "type": "free_customer_service"]),
                delivery("smb_message_echoes", business: a, ["message_echoes": [["from": "15550783881", "to": "16505551234", "id": "wamid.e1",
                                                                                   "timestamp": String(t + 180), "type": "text", "text": ["body": "ok"]]]]),
                // Business B: a template that failed (error 131049), its failure arriving last.
                question("wamid.q2", from: "447700900123", business: b, at: t),
                status("wamid.r3", "sent", to: "447700900123", business: b, at: t + 60,
                       pricing: ["billable": true, "pricing_model": "PMP", "category": "marketing", "type": "regular"]),
                status("wamid.r3", "failed", to: "447700900123", business: b, at: t + 61),
            ].joined(separator: "\n") + "\n"
            let file = dir + "/webhooks.jsonl"
            try archive.write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try convostore(["import", "--format", "webhook", "--db", db, file]).status == 0)

            let billA = try convostore(["billing", "--db", db, "--business", a, "--json"]).jsonLines.first
            #expect((billA?["charged"] as? [String: Int])?["marketing"] == 1)
            #expect(billA?["free"] as? Int == 2)
            #expect(billA?["failed"] as? Int == 0)
            let platform = billA?["platform"] as? [String: Any]
            #expect((platform?["charged"] as? [String: Int])?["marketing"] == 1)
            #expect(platform?["free"] as? Int == 1)
            #expect(platform?["unpriced"] as? Int == 1)

            let billB = try convostore(["billing", "--db", db, "--business", b, "--json"]).jsonLines.first
            #expect(billB?["failed"] as? Int == 1)
            #expect((billB?["charged"] as? [String: Int])?.values.reduce(0, +) == 0)
            #expect(billB?["amount_micros"] as? Int == 0)
            #expect((billB?["violations"] as? [String: Int])?.values.reduce(0, +) == 0)

            // The failed template is no answer: the question is overdue a day later.
            let show = try convostore(["show", "--db", db, "--business", b, "--customer", "447700900123", "--at", String(tMillis + 25 * 3_600_000), "--json"])
            #expect(show.jsonLines.first?["waiting_since"] as? Int == tMillis)
            let overdue = try convostore(["overdue", "--db", db, "--as-of", String(tMillis + 25 * 3_600_000), "--json"])
            #expect(overdue.jsonLines.compactMap { $0["business"] as? String } == [b])
        }
    }
}
