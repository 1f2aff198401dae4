import ConvoStore

/// The crash harness's workload, shared by the writer and the verifier so that both derive the same
/// events from a pair number.
///
/// Pair `n` of task `t` is one `submit` of an inbound message `in.t.n` and its outbound reply
/// `out.t.n`, in conversation (`crash-b<t % 4>`, `crash-c<t>-<n % 50>`), an hour apart from the
/// pair before it. A conversation only ever receives whole pairs, so after any crash each has
/// `messagesIn == messagesOut`; a half-applied submit would break that (and `check`).
public enum CrashWorkload {
    /// Conversations per task: small enough that conversations gather many pairs.
    public static let conversationsPerTask = 50
    /// 2025-07-01T10:00:00Z.
    public static let start: Int64 = 1_751_364_000_000

    /// The business of task `task`.
    public static func business(task: Int) -> String { "crash-b\(task % 4)" }

    /// The customer of pair `pair` of task `task`.
    public static func customer(task: Int, pair: Int) -> String { "crash-c\(task)-\(pair % conversationsPerTask)" }

    /// The two events of pair `pair` of task `task`.
    public static func events(task: Int, pair: Int) -> [Event] {
        let at = start + Int64(pair) * 3_600_000
        let business = business(task: task)
        let customer = customer(task: task, pair: pair)
        // The body is fixed and recognisable, so logs and errors can be searched for it.
        let inbound = Message(
            id: "in.\(task).\(pair)", business: business, customer: customer, direction: .inbound,
            at: at, body: Array("crash-body \(task) \(pair)".utf8))
        let reply = Message(
            id: "out.\(task).\(pair)", business: business, customer: customer, direction: .outbound,
            at: at + 60_000, body: Array("crash-reply \(task) \(pair)".utf8))
        return [.message(inbound), .message(reply)]
    }

    /// The line the writer logs for an acknowledged pair, and the verifier parses.
    public static func logLine(task: Int, pair: Int) -> String { "\(task) \(pair)\n" }
}
