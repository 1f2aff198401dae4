import ConvoStore
import HTTPTypes
import Hummingbird
import Logging

/// The outermost middleware: every answer carries the request id (`X-Request-Id`, the id in the
/// request's log lines), every error becomes the server's JSON error body, and each request is
/// logged once: its route (the template, such as `/v1/conversations/{business}/{customer}`,
/// never the ids in the path, nor a body), status and duration; at `debug` when it succeeded,
/// `notice` for a client's error, `error` for the server's.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The header that carries the request's id (a generic type has no stored statics: made once,
    /// not checked again on every request).
    static var requestIDHeader: HTTPField.Name { requestIDHeaderName }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var response: Response
        var reason: String?
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response = error.response
            reason = error.reason
        } catch let error as any HTTPResponseError {
            // Hummingbird's own (an unknown route is 404): same body shape as ours.
            let text = error.status.code == 404 ? "no such route" : error.status.reasonPhrase
            response = APIError(error.status, text).response
            reason = text
        } catch {
            context.logger.error("request failed", metadata: ["error": "\(Display.safe(String(describing: error), limit: 300))"])
            response = APIError(.internalServerError, "internal error (request \(context.id))").response
            reason = "internal error"
        }
        response.headers[Self.requestIDHeader] = context.id
        let level: Logger.Level = response.status.code >= 500 ? .error : response.status.code >= 400 ? .notice : .debug
        // Most requests succeed and are logged at debug, usually off: build nothing for them then.
        guard context.logger.logLevel <= level else { return response }
        let (seconds, attoseconds) = (ContinuousClock.now - started).components
        var metadata: Logger.Metadata = [
            "method": "\(request.method)",
            "route": "\(context.endpointPath ?? "-")",
            "status": "\(response.status.code)",
            "ms": "\(Double(seconds) * 1e3 + Double(attoseconds) / 1e15)",
        ]
        if let reason { metadata["reason"] = "\(Display.safe(reason, limit: 200))" }
        context.logger.log(level: level, "request", metadata: metadata)
        return response
    }
}

/// Refuses a body whose declared length is over the limit before reading any of it (413); a body
/// without a declared length is cut off at the limit as it is read (``readBody(_:context:limit:timeout:)``).
struct BodyLimitMiddleware<Context: RequestContext>: RouterMiddleware {
    let maxBytes: Int

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let declared = request.headers[.contentLength], let length = Int(declared), length > self.maxBytes {
            throw APIError(.contentTooLarge, "body of \(length) bytes, over the limit of \(self.maxBytes)")
        }
        return try await next(request, context)
    }
}

/// `Authorization: Bearer <api token>` on every route it guards, compared in constant time; 401 otherwise.
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: SecretToken

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw APIError(.unauthorized, "Authorization: Bearer <api token> required", headers: [.wwwAuthenticate: "Bearer"])
        }
        let scheme = header.prefix(7)
        guard scheme.lowercased() == "bearer ", self.token.matches(Array(header.utf8.dropFirst(7))) else {
            throw APIError(.unauthorized, "wrong bearer token", headers: [.wwwAuthenticate: "Bearer error=\"invalid_token\""])
        }
        return try await next(request, context)
    }
}

private let requestIDHeaderName = HTTPField.Name("X-Request-Id")!
