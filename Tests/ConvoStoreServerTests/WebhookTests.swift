import ConvoStore
import Foundation
import TestSupport
import Testing

/// The platform's side of the server: the handshake, signatures, durable deliveries, rejects.
@Suite struct WebhookTests {
    @Test func handshakeEchoesTheChallengeOnlyForTheVerifyToken() async throws {
        try await withServer { client, _ in
            let ok = try await client.get("/webhook?hub.mode=subscribe&hub.verify_token=\(TestSecrets.verifyToken)&hub.challenge=1158201444", token: nil)
            #expect(ok.status == 200)
            #expect(ok.body == "1158201444")

            let wrongToken = try await client.get("/webhook?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444", token: nil)
            #expect(wrongToken.status == 403)
            #expect(!wrongToken.body.contains("1158201444"))
            let wrongMode = try await client.get("/webhook?hub.mode=unsubscribe&hub.verify_token=\(TestSecrets.verifyToken)&hub.challenge=1", token: nil)
            #expect(wrongMode.status == 403)
            let noToken = try await client.get("/webhook?hub.mode=subscribe&hub.challenge=1", token: nil)
            #expect(noToken.status == 403)
        }
    }

    @Test func aSignedDeliveryIsRecordedAndAForgedOneRecordsNothing() async throws {
        try await withServer { client, files in
            let delivery = inboundDelivery(business: "15550001111", customer: "447700900123", id: "wamid.signed", seconds: 1_751_364_000)
            let signed = try await client.deliver(delivery)
            #expect(signed.status == 200)
            #expect(signed.json["result"] as? String == "recorded")
            #expect(signed.headers.first(name: "X-Request-Id")?.isEmpty == false)

            // The same delivery again (the platform retries): 200, nothing new.
            let again = try await client.deliver(delivery)
            #expect(again.status == 200)
            #expect(again.json["result"] as? String == "duplicate")

            let forgedBody = inboundDelivery(business: "15550001111", customer: "447700900999", id: "wamid.forged", seconds: 1_751_364_000)
            let forgeries = [
                TestSecrets.signature(forgedBody, secret: "not-the-app-secret"),  // another key
                TestSecrets.signature(delivery),  // another body's signature
                "sha256=" + String(repeating: "0", count: 64),
                "sha1=" + String(repeating: "a", count: 40),
                TestSecrets.signature(forgedBody).uppercased(),  // "SHA256=": not the header's form
                "",
            ]
            for signature in forgeries {
                let answer = try await client.deliver(forgedBody, signature: signature)
                #expect(answer.status == 401, "signature \(signature)")
            }
            let unsigned = try await client.request(.POST, "/webhook", body: Array(forgedBody.utf8), token: nil)
            #expect(unsigned.status == 401)

            // Nothing of the forged deliveries is in the store; the signed one is, once.
            let exported = try cli(["export", "--db", files.db])
            #expect(exported.contains("wamid.signed"))
            #expect(!exported.contains("wamid.forged"))
            #expect(!exported.contains("447700900999"))
            let unknown = try await client.get("/v1/conversations/15550001111/447700900999")
            #expect(unknown.status == 404)
        }
    }

    @Test func notJSONIs400AndNothingIsKeptAside() async throws {
        try await withServer { client, files in
            for body in ["not json", "{\"object\":", "[1,2,3]", ""] {
                let answer = try await client.deliver(body)
                #expect(answer.status == 400, "body \(body)")
            }
            #expect(try String(contentsOfFile: files.rejectsPath, encoding: .utf8).isEmpty)
        }
    }

    @Test func aDeliveryTheStoreRejectsIs422AndKeptAsideWhole() async throws {
        try await withServer { client, files in
            let first = inboundDelivery(business: "15550001111", customer: "447700900123", id: "wamid.1", seconds: 1_751_364_000, text: "first")
            #expect(try await client.deliver(first).status == 200)
            // The same message id with other content: the store refuses it.
            let conflicting = inboundDelivery(business: "15550001111", customer: "447700900123", id: "wamid.1", seconds: 1_751_364_000, text: "other")
            let answer = try await client.deliver(conflicting)
            #expect(answer.status == 422)
            #expect((answer.json["error"] as? String)?.contains("already recorded with different content") == true)
            // A delivery the converter refuses (a required field missing) is kept aside too.
            let missingFrom = conflicting.replacingOccurrences(of: "\"from\":\"447700900123\",", with: "")
            let refused = try await client.deliver(missingFrom)
            #expect(refused.status == 422)
            #expect((refused.json["error"] as? String)?.contains("from") == true)

            let kept = try String(contentsOfFile: files.rejectsPath, encoding: .utf8)
            #expect(kept == conflicting + "\n" + missingFrom + "\n")
            var info = stat()
            #expect(stat(files.rejectsPath, &info) == 0)
            #expect(info.st_mode & 0o777 == 0o600)
            // The default place: inside the store's directory.
            #expect(files.rejectsPath == files.db + "/rejected-deliveries.jsonl")
            #expect(!(try cli(["export", "--db", files.db])).contains("other"))
        }
    }

    @Test func deliveriesOneByOneGiveTheStoreOfImportFormatWebhook() async throws {
        let fixtures = try FileManager.default.contentsOfDirectory(atPath: webhookFixtures.path).filter { $0.hasSuffix(".jsonl") }.sorted()
        #expect(fixtures.count >= 5)
        try await withServer { client, files in
            var statuses: [Int: Int] = [:]
            for name in fixtures {
                let text = try String(contentsOf: webhookFixtures.appendingPathComponent(name), encoding: .utf8)
                for line in text.split(separator: "\n", omittingEmptySubsequences: true) where !line.allSatisfy(\.isWhitespace) {
                    let answer = try await client.deliver(String(line))
                    statuses[answer.status, default: 0] += 1
                    #expect([200, 400, 422].contains(answer.status), "\(name): \(answer.body)")
                }
            }
            #expect(statuses[200, default: 0] > 10)

            let imported = files.directory + "/imported"
            let paths = fixtures.map { webhookFixtures.appendingPathComponent($0).path }
            let result = try convostore(["import", "--db", imported, "--format", "webhook", "--quiet", "--rejects", files.directory + "/import.rejects"] + paths)
            #expect(result.status == 0 || result.status == 1, "\(result.stderr)")
            let served = try cli(["export", "--db", files.db])
            let fromImport = try cli(["export", "--db", imported])
            #expect(served == fromImport)
            #expect(served.split(separator: "\n").count > 10)
        }
    }
}
