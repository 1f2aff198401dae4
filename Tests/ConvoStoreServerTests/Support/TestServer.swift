import AsyncHTTPClient
import ConvoStore
import ConvoStoreServer
import Crypto
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import TestSupport

/// The secrets every test server uses.
enum TestSecrets {
    static let appSecret = "test-app-secret"
    static let verifyToken = "test-verify-token"
    static let apiToken = "test-api-token"

    static var secrets: ServerSecrets { ServerSecrets(appSecret: appSecret, verifyToken: verifyToken, apiToken: apiToken) }

    /// `X-Hub-Signature-256` of `body`, as the platform computes it.
    static func signature(_ body: String, secret: String = appSecret) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Array(body.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Writes the three secret files (0600) into `dir` and returns the `serve` arguments naming them.
    static func writeFiles(in dir: String, mode: mode_t = 0o600) throws -> [String] {
        var arguments: [String] = []
        for (option, name, value) in [
            ("--app-secret-file", "app-secret", appSecret), ("--verify-token-file", "verify-token", verifyToken),
            ("--api-token-file", "api-token", apiToken),
        ] {
            let path = dir + "/" + name
            try (value + "\n").write(toFile: path, atomically: false, encoding: .utf8)
            chmod(path, mode)
            arguments += [option, path]
        }
        return arguments
    }
}

/// What a request got back.
struct Answer: Sendable {
    var status: Int
    var body: String
    var headers: HTTPHeaders

    /// The body as one JSON object.
    var json: [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(self.body.utf8)) as? [String: Any]) ?? [:]
    }
}

/// A client of a server on loopback.
struct TestClient: Sendable {
    let port: Int
    var http: HTTPClient = .shared

    func request(
        _ method: HTTPMethod, _ path: String, body: [UInt8]? = nil, headers: [(String, String)] = [], token: String? = TestSecrets.apiToken
    ) async throws -> Answer {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(self.port)\(path)")
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await self.http.execute(request, timeout: .seconds(120))
        let buffer = try await response.body.collect(upTo: 64 << 20)
        return Answer(status: Int(response.status.code), body: String(buffer: buffer), headers: response.headers)
    }

    func get(_ path: String, token: String? = TestSecrets.apiToken) async throws -> Answer {
        try await self.request(.GET, path, token: token)
    }

    /// Posts `delivery` to `/webhook`, signed with the app secret (or as `signature` says).
    func deliver(_ delivery: String, signature: String? = nil) async throws -> Answer {
        try await self.request(
            .POST, "/webhook", body: Array(delivery.utf8),
            headers: [("X-Hub-Signature-256", signature ?? TestSecrets.signature(delivery)), ("Content-Type", "application/json")], token: nil)
    }

    func send(_ line: String, token: String? = TestSecrets.apiToken) async throws -> Answer {
        try await self.request(.POST, "/v1/messages/send", body: Array(line.utf8), headers: [("Content-Type", "application/json")], token: token)
    }
}

/// A server in this process over a fresh store in a fresh temporary directory: `setUp` may fill
/// the store's directory first (with the command line); the server stops (gracefully) when `body` returns.
func withServer(
    configure: (inout ServerConfiguration) -> Void = { _ in },
    setUp: (String) throws -> Void = { _ in },
    _ body: (TestClient, ServerFixture) async throws -> Void
) async throws {
    try await withTemporaryDirectory { dir in
        let db = dir + "/db"
        try setUp(db)
        var configuration = ServerConfiguration()
        configuration.port = 0
        configure(&configuration)
        let registry = ServerMetrics.bootstrapPrometheus()
        let store = try ConvoStore.open(at: db)
        var logger = Logger(label: "convostore.server.test")
        logger.logLevel = .warning  // the request lines of 4xx answers are notices: tests provoke many
        let server = try ConvoStoreServer(
            store: store, secrets: TestSecrets.secrets, configuration: configuration, registry: registry, logger: logger)
        let port = PortPromise()
        let group = server.serviceGroup(signals: [], onListening: { port.fulfil($0) })
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                defer { port.fulfil(-1) }  // a server that failed to start fails the test instead of hanging it
                try await group.run()
            }
            let client = TestClient(port: await port.value)
            do {
                try await body(client, ServerFixture(directory: dir, db: db, rejectsPath: server.rejectsPath))
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}

/// Where a test server keeps its files.
struct ServerFixture: Sendable {
    var directory: String
    var db: String
    var rejectsPath: String
}

/// The port, once the server listens.
final class PortPromise: @unchecked Sendable {
    // @unchecked: `port` and `waiters` are only touched while `lock` is held.
    private let lock = NSLock()
    private var port: Int?
    private var waiters: [CheckedContinuation<Int, Never>] = []

    func fulfil(_ port: Int) {
        let waiters = self.lock.withLock {
            if self.port == nil { self.port = port }
            defer { self.waiters = [] }
            return self.waiters
        }
        for waiter in waiters { waiter.resume(returning: self.lock.withLock { self.port! }) }
    }

    var value: Int {
        get async {
            await withCheckedContinuation { continuation in
                let ready: Int? = self.lock.withLock {
                    if let port = self.port { return port }
                    self.waiters.append(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}

/// The webhook fixtures of the library's tests (the Cloud API's payload shapes).
var webhookFixtures: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ConvoStoreTests/Fixtures/webhook")
}

// MARK: Deliveries in the Cloud API's shapes

/// A delivery of one inbound text message.
func inboundDelivery(business: String, customer: String, id: String, seconds: Int64, text: String = "hello") -> String {
    let body = JSONWriter.object { $0.field("body", text) }
    return """
        {"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp",\
        "metadata":{"display_phone_number":"15550783881","phone_number_id":"\(business)"},\
        "contacts":[{"profile":{"name":"Test"},"wa_id":"\(customer)"}],\
        "messages":[{"from":"\(customer)","id":"\(id)","timestamp":"\(seconds)","type":"text","text":\(body)}]},\
        "field":"messages"}]}]}
        """
}

/// A delivery of one status of an outbound message (the first status of an unknown id records the message).
func statusDelivery(business: String, customer: String, id: String, status: String, seconds: Int64, category: String) -> String {
    """
    {"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp",\
    "metadata":{"display_phone_number":"15550783881","phone_number_id":"\(business)"},\
    "statuses":[{"id":"\(id)","status":"\(status)","timestamp":"\(seconds)","recipient_id":"\(customer)",\
    "pricing":{"billable":true,"pricing_model":"PMP","type":"regular","category":"\(category)"}}]},"field":"messages"}]}]}
    """
}

/// Runs the built `convostore` and requires exit status 0; returns its standard output.
func cli(_ arguments: [String], in directory: String? = nil) throws -> String {
    let result = try convostore(arguments, in: directory)
    guard result.status == 0 else {
        throw CLIFailure(description: "convostore \(arguments.joined(separator: " ")) exited \(result.status): \(result.stderr)")
    }
    return result.stdout
}

struct CLIFailure: Error, CustomStringConvertible {
    var description: String
}
