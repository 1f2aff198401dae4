import Crypto
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
import TestSupport

/// `convostore serve --publish-nats`: the server as the cluster's front door, against a real JetStream
/// cluster and a real node. A signed delivery is answered 200 only once the log has it, the same
/// delivery again is a duplicate the log drops, and the node records it as an import of it would.
@Suite("Server in publishing mode", .serialized, .enabled(if: NATSTestCluster.binary != nil, "nats-server is not installed"))
struct PublishingServerTests {
    static let appSecret = "publish-test-secret"

    @Test("A signed delivery is published once, recorded by its partition's node, and queried through the cluster")
    func deliveriesReachTheCluster() throws {
        let cluster = try StoreCluster(partitions: 2)
        try cluster.startNode("a")
        let dir = cluster.directory
        var secrets: [String] = []
        for (option, name, value) in [("--app-secret-file", "app-secret", Self.appSecret), ("--verify-token-file", "verify-token", "v"), ("--api-token-file", "api-token", "t")] {
            try (value + "\n").write(toFile: "\(dir)/\(name)", atomically: false, encoding: .utf8)
            chmod("\(dir)/\(name)", 0o600)
            secrets += [option, "\(dir)/\(name)"]
        }
        let port = try freePorts(1)[0]
        let server = try RunningProcess(builtProduct("convostore"), ["serve", "--db", "\(dir)/local", "--port", "\(port)", "--publish-nats", cluster.nats.urls] + secrets)
        defer { server.send(SIGTERM); _ = server.waitUntilExit() }
        let base = "http://127.0.0.1:\(port)"
        // Bounded by the child: it either comes up or exits.
        while server.isRunning, (try? Self.request("GET", base + "/health"))?.status != 200 { Thread.sleep(forTimeInterval: 0.1) }
        #expect(server.isRunning, "serve --publish-nats came up")

        let deliveries = (0..<6).map { i in
            Self.inbound(business: "1555000000\(i % 2)", customer: "44770090\(String(format: "%04d", i))", id: "wamid.pub.\(i)", seconds: 1_767_700_000 + Int64(i) * 60)
        }
        for delivery in deliveries {
            let answer = try Self.request("POST", base + "/webhook", body: delivery, signature: Self.signature(delivery))
            #expect(answer.status == 200 && answer.body.contains(#""result":"published""#), "\(answer)")
        }
        // The platform delivers again when it did not see the 200: the message id makes the log drop it.
        let again = try Self.request("POST", base + "/webhook", body: deliveries[0], signature: Self.signature(deliveries[0]))
        #expect(again.status == 200 && again.body.contains(#""result":"duplicate""#), "\(again)")
        let forged = try Self.request("POST", base + "/webhook", body: deliveries[1], signature: "sha256=" + String(repeating: "0", count: 64))
        #expect(forged.status == 401)
        // The local store is not fed in this mode, so it answers no queries.
        #expect(try Self.request("GET", base + "/v1/overdue?as_of=2026-01-10T00:00:00Z", token: "t").status == 404)

        try cluster.waitUntilCaughtUp(messages: UInt64(deliveries.count))
        let archive = deliveries.joined(separator: "\n") + "\n"
        try archive.write(toFile: "\(dir)/archive.jsonl", atomically: true, encoding: .utf8)
        let single = try convostore(["import", "--db", "\(dir)/single", "--format", "webhook", "--quiet", "\(dir)/archive.jsonl"])
        #expect(single.status == 0, "\(single.stderr)")
        let query = ["overdue", "--as-of", "2026-01-10T00:00:00Z", "--json"]
        let merged = try convostore(["cluster"] + query + ["--nats", cluster.nats.urls])
        let alone = try convostore(query + ["--db", "\(dir)/single"])
        #expect(merged.status == 0 && merged.stdout == alone.stdout, "\(merged.stderr)")
        #expect(merged.stdout.split(separator: "\n").count == deliveries.count)
    }

    static func inbound(business: String, customer: String, id: String, seconds: Int64) -> String {
        #"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"\#(business)"},"contacts":[{"profile":{"name":"T"},"wa_id":"\#(customer)"}],"messages":[{"from":"\#(customer)","id":"\#(id)","timestamp":"\#(seconds)","type":"text","text":{"body":"hello"}}]},"field":"messages"}]}]}"#
    }

    static func signature(_ body: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array(Self.appSecret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// One HTTP request, waited for.
    static func request(_ method: String, _ url: String, body: String? = nil, signature: String? = nil, token: String? = nil) throws -> (status: Int, body: String) {
        var request = URLRequest(url: URL(string: url)!, timeoutInterval: 60)
        request.httpMethod = method
        if let body { request.httpBody = Data(body.utf8); request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if let signature { request.setValue(signature, forHTTPHeaderField: "X-Hub-Signature-256") }
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        let done = DispatchSemaphore(value: 0)
        let result = Mutable<Result<(Int, String), any Error>>(.failure(URLError(.unknown)))
        URLSession.shared.dataTask(with: request) { data, response, error in
            if let error { result.value = .failure(error) } else {
                result.value = .success(((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data ?? Data(), as: UTF8.self)))
            }
            done.signal()
        }.resume()
        done.wait()
        let (status, text) = try result.value.get()
        return (status, text)
    }
}

/// A value written by a URLSession callback and read after the semaphore.
private final class Mutable<T>: @unchecked Sendable {
    // @unchecked: written once before the signal, read after the wait.
    var value: T
    init(_ value: T) { self.value = value }
}
