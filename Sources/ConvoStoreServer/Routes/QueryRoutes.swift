import ConvoStore
import Dispatch
import Foundation
import Hummingbird
import HummingbirdCore

/// The query API under `/v1/`, mirroring the command line: each body is the command's `--json`
/// output on the same data, byte for byte (one object and a newline, or JSON Lines), written by
/// the same `OutputJSON`. Times in query strings are read as on the command line
/// (`Timestamp.parseArgument`: epoch milliseconds or RFC 3339, in the store's one range).
struct QueryRoutes: Sendable {
    let store: ConvoStore

    func add(to group: RouterGroup<ServerRequestContext>) {
        group.get("conversations/{business}/{customer}") { request, context in try self.conversation(request, context: context) }
        group.get("overdue") { request, context in try await self.overdue(request, context: context) }
        group.get("newly-overdue") { request, context in try await self.newlyOverdue(request, context: context) }
        group.get("windows") { request, context in try await self.windows(request, context: context) }
        group.get("billing/{business}") { request, context in try await self.billing(request, context: context) }
        group.get("limits/{business}") { request, context in try self.limits(request, context: context) }
    }

    /// `GET /v1/conversations/{business}/{customer}?at=T`, as `show --json` (at: now by default); 404 when unknown.
    func conversation(_ request: Request, context: ServerRequestContext) throws -> Response {
        let business = try pathParameter("business", context)
        let customer = try pathParameter("customer", context)
        let query = request.uri.queryParameters
        let at = try optionalTime(query, "at") ?? Int64(Date().timeIntervalSince1970 * 1000)
        // A point read: microseconds, so it runs here rather than on another thread.
        guard let state = try self.store.conversation(business: business, customer: customer, at: at) else {
            throw APIError(.notFound, "no conversation between business \(Display.quoted(business)) and customer \(Display.quoted(customer))")
        }
        return .json(OutputJSON.state(state) + "\n")
    }

    /// `GET /v1/overdue?as_of=T[&business=B][&limit=N]`, as `overdue --json`.
    func overdue(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let asOf = try requiredTime(query, "as_of")
        let business = query["business"].map(String.init)
        let limit = try optionalLimit(query)
        return try await jsonLines(limit: limit) { reader, body in
            try reader.forEachOverdue(asOf: asOf, business: business) { body(OutputJSON.waiting($0)) }
        }
    }

    /// `GET /v1/newly-overdue?after=T1&until=T2[&limit=N]`, as `newly-overdue --json`.
    func newlyOverdue(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let after = try requiredTime(query, "after")
        let until = try requiredTime(query, "until")
        let limit = try optionalLimit(query)
        return try await jsonLines(limit: limit) { reader, body in
            try reader.forEachNewlyOverdue(after: after, until: until) { body(OutputJSON.waiting($0)) }
        }
    }

    /// `GET /v1/windows?from=T1&to=T2[&business=B][&limit=N]`, as `windows --json`.
    func windows(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let query = request.uri.queryParameters
        let from = try requiredTime(query, "from")
        let to = try requiredTime(query, "to")
        let business = query["business"].map(String.init)
        let limit = try optionalLimit(query)
        return try await jsonLines(limit: limit) { reader, body in
            try reader.forEachWindowClosing(from: from, to: to, business: business) { body(OutputJSON.window($0)) }
        }
    }

    /// `GET /v1/billing/{business}?from=T1&to=T2`, as `billing --json`.
    func billing(_ request: Request, context: ServerRequestContext) async throws -> Response {
        let business = try pathParameter("business", context)
        let query = request.uri.queryParameters
        let from = try optionalTime(query, "from")
        let to = try optionalTime(query, "to")
        let store = self.store
        let summary = try await offload { try store.billing(business: business, from: from, to: to) }
        return .json(OutputJSON.billing(summary) + "\n")
    }

    /// `GET /v1/limits/{business}?at=T`, as `limits --json` (at: now by default): the messaging limit and
    /// the customers reached in the 24 hours up to T (R8). At most 1,440 per-minute counts: in place.
    func limits(_ request: Request, context: ServerRequestContext) throws -> Response {
        let business = try pathParameter("business", context)
        let at = try optionalTime(request.uri.queryParameters, "at") ?? Int64(Date().timeIntervalSince1970 * 1000)
        return .json(OutputJSON.limits(try self.store.messagingLimit(business: business, at: at)) + "\n")
    }

    /// Runs a walk on one snapshot, off the concurrency pool (its length is the data's), and
    /// answers its lines as JSON Lines, at most `limit` of them.
    private func jsonLines(
        limit: Int, _ walk: @escaping @Sendable (StoreReader, (String) -> Bool) throws -> Void
    ) async throws -> Response {
        guard limit > 0 else { return .json("", contentType: jsonLinesContentType) }
        let store = self.store
        let bytes = try await offload { () throws -> [UInt8] in
            var bytes: [UInt8] = []
            var count = 0
            try store.read { reader in
                try walk(reader) { line in
                    bytes.append(contentsOf: line.utf8)
                    bytes.append(0x0A)
                    count += 1
                    return count < limit
                }
            }
            return bytes
        }
        return .json(bytes: bytes, contentType: jsonLinesContentType)
    }
}

/// Runs `body` on a thread of the system's pool rather than the concurrency pool, which a long
/// read would hold (two threads on a two-core machine).
func offload<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global(qos: .userInitiated).async {
            continuation.resume(with: Result { try body() })
        }
    }
}

// MARK: Parameters

/// A path parameter, percent-decoded.
func pathParameter(_ name: String, _ context: ServerRequestContext) throws -> String {
    guard let raw = context.parameters.get(name), let value = raw.removingPercentEncoding, !value.isEmpty else {
        throw APIError(.badRequest, "\(name): missing or not valid percent-encoding")
    }
    return value
}

/// A time from the query string, as the command line reads one.
func requiredTime(_ query: FlatDictionary<Substring, Substring>, _ name: String) throws -> Int64 {
    guard let time = try optionalTime(query, name) else { throw APIError(.badRequest, "\(name): required (epoch ms or RFC 3339)") }
    return time
}

func optionalTime(_ query: FlatDictionary<Substring, Substring>, _ name: String) throws -> Int64? {
    guard let text = query[Substring(name)] else { return nil }
    do {
        return try Timestamp.parseArgument(String(text), field: name)
    } catch {
        throw APIError(.badRequest, error.description)
    }
}

/// `limit=N`: at least 0; no limit when absent.
func optionalLimit(_ query: FlatDictionary<Substring, Substring>) throws -> Int {
    guard let text = query["limit"] else { return .max }
    guard let limit = Int(text), limit >= 0 else {
        throw APIError(.badRequest, "limit: \(Display.quoted(String(text))) is not a number of at least 0")
    }
    return limit
}
