import ConvoStore
import Hummingbird

/// `POST /v1/messages/send`: a live send. The body is one native `message` line (direction `out`);
/// the store checks it against the rules at its time and records it with its charge in one
/// commit (`ConvoStore.send`), or refuses it and records nothing.
///
/// - 200 `{"result":"sent","outcome":"free"|"charged","category":<name>|null,"amount_micros":n}`
/// - 200 `{"result":"duplicate"}`: the same message was sent before
/// - 409 `{"result":"refused","violation":"<rule>"}`
/// - 400 `{"error":"<reason>"}`: not a message line, not outbound, a limit, an id already used for other content
struct SendRoute: Sendable {
    let store: ConvoStore
    let maxBodyBytes: Int
    let bodyTimeout: Duration

    func add(to group: RouterGroup<ServerRequestContext>) {
        group.post("messages/send") { request, context in try await self.send(request, context: context) }
    }

    func send(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let body = try await readBody(request, context: context, limit: self.maxBodyBytes, timeout: self.bodyTimeout)
        let line: DumpLine
        do {
            line = try body.withUnsafeReadableBytes { raw in try NativeDump.parse(raw) }
        } catch {
            throw APIError(.badRequest, (error as? DumpLineError)?.reason ?? "\(error)")
        }
        guard case .event(.message(let message)) = line else {
            throw APIError(.badRequest, "type: the body must be one native message line (type message, direction out)")
        }
        guard message.direction == .outbound else { throw APIError(.badRequest, "direction: send takes outbound messages (out)") }
        let result: SendResult
        do {
            result = try await self.store.send(message)
        } catch ConvoStoreError.closed {
            throw APIError(.serviceUnavailable, "the server is stopping: send again later")
        }
        switch result {
        case .sent(let outcome, let amountMicros):
            let category: String?
            switch outcome {
            case .free: category = nil
            case .charged(let charged): category = charged.name
            case .violation(let violation):
                // A refusal is `.refused`; a violation here would be the store's inconsistency.
                throw APIError(.internalServerError, "send classified the message as \(violation.name) yet sent it")
            }
            return .json(JSONWriter.object { o in
                o.field("result", "sent")
                o.field("outcome", category == nil ? "free" : "charged")
                if let category { o.field("category", category) } else { o.field("category", nil as Int64?) }
                o.field("amount_micros", amountMicros)
            } + "\n")
        case .refused(let violation):
            return .json(JSONWriter.object { o in
                o.field("result", "refused")
                o.field("violation", violation.name)
            } + "\n", status: .conflict)
        case .duplicate:
            return .json(JSONWriter.object { $0.field("result", "duplicate") } + "\n")
        case .rejected(let error):
            throw APIError(.badRequest, error.description)
        }
    }
}
