import ArgumentParser
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import LoadBenchKit

/// `convostore serve`'s `POST /webhook` and `GET /v1/conversations/{business}/{customer}` over the
/// load harness's SQLite engine (GRDB, WAL, `synchronous=FULL`), for the server figures side by
/// side (docs/server.md). The same checks in front (signature in constant time, 1 MiB, bearer
/// token); a delivery is one durable transaction. Conversations are the workload's (`--users`,
/// `--seed`); `--pairs-out` lists them for the load generator. A stand-in for a benchmark, not a
/// product: it reads inbound text messages only, and answers the send check as its conversation read.
@main
struct SQLiteServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sqliteserver", abstract: "The server's webhook and conversation routes over the load harness's SQLite engine.")

    @Option(help: "A new directory for the database.") var dir: String
    @Option(help: "The address to listen on.") var host = "127.0.0.1"
    @Option(help: "The port.") var port = 8081
    @Option(help: "The workload's users (its conversations are the ones deliveries may go to).") var users = 100_000
    @Option(help: "The workload's seed.") var seed: UInt64 = 42
    @Option(name: .customLong("app-secret-file")) var appSecretFile: String
    @Option(name: .customLong("api-token-file")) var apiTokenFile: String
    @Option(name: .customLong("pairs-out"), help: "Write the conversations as `business customer` lines here.") var pairsOut: String?

    func run() async throws {
        let appSecret = try Self.secret(self.appSecretFile)
        let apiToken = try Self.secret(self.apiTokenFile)
        try FileManager.default.createDirectory(atPath: self.dir, withIntermediateDirectories: true)
        let store = try SQLiteServerEngine(directory: self.dir, users: self.users, seed: self.seed)
        if let pairsOut {
            try store.pairs.map { "\($0.business) \($0.customer)\n" }.joined().write(toFile: pairsOut, atomically: true, encoding: .utf8)
        }
        let tokenDigest = Array(SHA256.hash(data: apiToken))
        let router = Router()
        router.get("/health") { _, _ in "ok\n" }
        router.post("/webhook") { request, context -> Response in
            guard let header = request.headers[HTTPField.Name("X-Hub-Signature-256")!], let mac = Self.hex(header.dropFirst(7)),
                  header.hasPrefix("sha256=")
            else { return Self.answer(.unauthorized, "signature missing") }
            if let length = request.headers[.contentLength].flatMap(Int.init), length > 1 << 20 { return Self.answer(.contentTooLarge, "too large") }
            let body = try await request.body.collect(upTo: 1 << 20)
            let valid = body.withUnsafeReadableBytes { HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: $0, using: SymmetricKey(data: appSecret)) }
            guard valid else { return Self.answer(.unauthorized, "bad signature") }
            guard let message = body.withUnsafeReadableBytes({ Self.inbound(Data($0)) }) else { return Self.answer(.badRequest, "not an inbound text delivery") }
            let recorded = try await store.recordInbound(
                business: message.business, customer: message.customer, messageNumber: message.number, at: message.at, bodyLength: message.bodyLength)
            return recorded ? Self.answer(.ok, nil) : Self.answer(.unprocessableContent, "not a conversation of the workload")
        }
        let api = router.group("/v1").add(middleware: BearerToken(digest: tokenDigest))
        api.get("conversations/{business}/{customer}") { request, context -> Response in
            let business = try context.parameters.require("business")
            let customer = try context.parameters.require("customer")
            let at = request.uri.queryParameters["at"].flatMap { Int64($0) } ?? Int64(Date().timeIntervalSince1970 * 1000)
            guard let allowed = try store.canSendFreeform(business: business, customer: customer, at: at) else {
                return Self.answer(.notFound, "no conversation")
            }
            return Self.json("{\"business\":\"\(business)\",\"customer\":\"\(customer)\",\"can_send_freeform\":\(allowed)}\n")
        }
        let app = Application(router: router, configuration: .init(address: .hostname(self.host, port: self.port), serverName: "sqliteserver"))
        try await app.runService()
        try store.close()
    }

    /// What the route reads of a delivery: its first inbound message.
    struct Inbound {
        var business: String
        var customer: String
        var number: UInt32
        var at: Int64
        var bodyLength: Int
    }

    /// `entry[0].changes[0].value`: `metadata.phone_number_id`, and `messages[0]`'s `from`, `id`
    /// (`wamid.<number>`, as the load generator makes them), `timestamp` and text body.
    static func inbound(_ data: Data) -> Inbound? {
        guard let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let entry = (root["entry"] as? [[String: Any]])?.first,
              let change = (entry["changes"] as? [[String: Any]])?.first,
              let value = change["value"] as? [String: Any],
              let business = (value["metadata"] as? [String: Any])?["phone_number_id"] as? String,
              let message = (value["messages"] as? [[String: Any]])?.first,
              let customer = message["from"] as? String, let id = message["id"] as? String, id.hasPrefix("wamid."),
              let number = UInt32(id.dropFirst(6)), let seconds = (message["timestamp"] as? String).flatMap({ Int64($0) })
        else { return nil }
        let text = ((message["text"] as? [String: Any])?["body"] as? String) ?? ""
        return Inbound(business: business, customer: customer, number: number, at: seconds * 1000, bodyLength: text.utf8.count)
    }

    static func answer(_ status: HTTPResponse.Status, _ error: String?) -> Response {
        let text = error.map { "{\"error\":\"\($0)\"}\n" } ?? "{\"result\":\"recorded\"}\n"
        var response = Self.json(text)
        response.status = status
        return response
    }

    static func json(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func hex(_ text: Substring) -> [UInt8]? {
        let digits = Array(text.utf8)
        guard digits.count == 64 else { return nil }
        var out: [UInt8] = []
        for i in stride(from: 0, to: 64, by: 2) {
            guard let byte = UInt8(String(decoding: digits[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            out.append(byte)
        }
        return out
    }

    static func secret(_ path: String) throws -> [UInt8] {
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        while let last = bytes.last, last == 0x0A || last == 0x0D || last == 0x20 { bytes.removeLast() }
        return bytes
    }
}

/// The bearer token, compared in constant time over SHA-256 digests (as the ConvoStore server does).
struct BearerToken<Context: RequestContext>: RouterMiddleware {
    let digest: [UInt8]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let given = Array(SHA256.hash(data: Array((request.headers[.authorization] ?? "").utf8.dropFirst(7))))
        var difference: UInt8 = 0
        for i in 0..<given.count { difference |= given[i] ^ self.digest[i] }
        guard difference == 0, request.headers[.authorization]?.lowercased().hasPrefix("bearer ") == true else {
            return SQLiteServer.answer(.unauthorized, "bearer token")
        }
        return try await next(request, context)
    }
}
