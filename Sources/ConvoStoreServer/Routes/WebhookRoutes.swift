import ConvoStore
import ConvoStoreCluster
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The platform's side: the subscription handshake and webhook deliveries.
///
/// A delivery is checked against `X-Hub-Signature-256` before any of it is parsed; then converted
/// by `WebhookArchive` and recorded by `StoreWriter.recordAllOrNothing` inside one `submit` (the
/// same mapping `import --format webhook` uses, so a delivery posted and the same line imported
/// give the same store). 200 is answered only after the group commit that holds it returned, so
/// a 200 is durable. A delivery the store rejects as a whole is kept aside (``RejectedDeliveries``)
/// and answered 422 with the reason.
struct WebhookRoutes: Sendable {
    let store: ConvoStore
    let signature: WebhookSignature
    let verifyToken: SecretToken
    let rejects: RejectedDeliveries
    let maxBodyBytes: Int
    let bodyTimeout: Duration
    /// Publishing mode (`--publish-nats`): deliveries go to the cluster's log instead of the store.
    let publisher: DeliveryPublisher?

    static var signatureHeader: HTTPField.Name { HTTPField.Name("X-Hub-Signature-256")! }

    func add(to router: Router<ServerRequestContext>) {
        router.get("/webhook") { request, context in try self.handshake(request, context: context) }
        router.post("/webhook") { request, context in try await self.deliver(request, context: context) }
    }

    /// `GET /webhook?hub.mode=subscribe&hub.verify_token=V&hub.challenge=X`: X when V is the verify token.
    func handshake(_ request: Request, context: ServerRequestContext) throws -> Response {
        let query = request.uri.queryParameters
        guard query["hub.mode"] == "subscribe", let token = query["hub.verify_token"], self.verifyToken.matches(Array(token.utf8)),
            let challenge = query["hub.challenge"]
        else {
            throw APIError(.forbidden, "verification failed: hub.mode must be subscribe and hub.verify_token the verify token")
        }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: String(challenge))))
    }

    /// `POST /webhook`: one delivery.
    func deliver(_ request: Request, context: ServerRequestContext) async throws -> Response {
        guard let header = request.headers[Self.signatureHeader] else {
            throw APIError(.unauthorized, "X-Hub-Signature-256 missing: deliveries must be signed with the app secret")
        }
        let body = try await readBody(request, context: context, limit: self.maxBodyBytes, timeout: self.bodyTimeout)
        let signed = body.withUnsafeReadableBytes { self.signature.verifies(header, body: $0) }
        guard signed else { throw APIError(.unauthorized, "X-Hub-Signature-256 does not match the body: nothing recorded") }
        if let publisher = self.publisher { return try await self.publish(body, with: publisher, context: context) }

        let delivery: WebhookDelivery
        do {
            delivery = try body.withUnsafeReadableBytes { raw in try WebhookArchive.parse(raw) }
        } catch {
            let reason = (error as? DumpLineError)?.reason ?? "\(error)"
            guard Self.isJSONObject(body) else { throw APIError(.badRequest, "not a JSON object: \(reason)") }
            try await self.reject(body, reason: reason, context: context)
        }
        let items = delivery.items
        guard !items.isEmpty else { return Self.result("skipped") }
        let outcome: RecordResult
        do {
            outcome = try await self.store.submit(weight: items.count) { writer in try writer.recordAllOrNothing(items) }
        } catch ConvoStoreError.closed {
            throw APIError(.serviceUnavailable, "the server is stopping: deliver again later")
        }
        switch outcome {
        case .recorded: return Self.result("recorded")
        case .duplicate: return Self.result("duplicate")
        case .rejected(let error): try await self.reject(body, reason: error.description, context: context)
        }
    }

    /// Publishing mode: 200 only once JetStream acknowledged the delivery on every partition it touches
    /// (`published`, or `duplicate` when the log had it already); nothing is recorded here.
    private func publish(_ body: ByteBuffer, with publisher: DeliveryPublisher, context: ServerRequestContext) async throws -> Response {
        let outcome: DeliveryOutcome
        do {
            outcome = try await publisher.publish(Array(body.readableBytesView))
        } catch {
            context.logger.error("publishing a delivery failed", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, "the log did not acknowledge the delivery: deliver again later")
        }
        switch outcome {
        case .published(_, let duplicate): return Self.result(duplicate ? "duplicate" : "published")
        case .skipped: return Self.result("skipped")
        case .rejected(let reason):
            guard Self.isJSONObject(body) else { throw APIError(.badRequest, "not a JSON object: \(reason)") }
            try await self.reject(body, reason: reason, context: context)
        }
    }

    /// Keeps the delivery aside (synced) and answers 422 with the reason.
    private func reject(_ body: ByteBuffer, reason: String, context: ServerRequestContext) async throws -> Never {
        try await self.rejects.keep(Array(body.readableBytesView))
        context.logger.notice("delivery rejected and kept aside", metadata: ["rejects": "\(Display.safe(self.rejects.path, limit: 200))"])
        throw APIError(.unprocessableContent, reason)
    }

    private static func result(_ name: String) -> Response {
        .json(JSONWriter.object { $0.field("result", name) } + "\n")
    }

    /// Whether `body` is JSON at all (only asked of a delivery the converter refused: a body that is
    /// not JSON is answered 400 and not kept; a JSON delivery it refuses is kept aside).
    private static func isJSONObject(_ body: ByteBuffer) -> Bool {
        let data = body.withUnsafeReadableBytes { Data($0) }
        return (try? JSONSerialization.jsonObject(with: data)) is [String: Any]
    }
}
