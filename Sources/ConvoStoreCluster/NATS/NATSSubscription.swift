import CNATS
import Dispatch

/// A synchronous subscription (`natsSubscription`): core NATS (``next(timeoutMillis:)``) or a JetStream
/// pull consumer (``fetch(batch:timeoutMillis:)``). Unsubscribed with this object, and destroyed a few
/// seconds later (see `deinit`).
///
/// `@unchecked Sendable`: read by one thread at a time; the C client locks the subscription itself.
public final class NATSSubscription: @unchecked Sendable {
    let handle: OpaquePointer
    /// Kept so that the connection outlives the subscription.
    private let connection: NATSConnection

    init(owning handle: OpaquePointer, connection: NATSConnection) {
        self.handle = handle
        self.connection = connection
    }

    deinit {
        // libnats 3.4 (Debian's libnats-dev) races here: its reading thread looks a subscription up for
        // an incoming message, lets go of the lookup's lock, and only then locks the subscription; one
        // destroyed in between is used after it was freed (nats.c issue 637, fixed in 3.6.0). A node that
        // dropped a consumer while messages for it were arriving aborted with a corrupted heap in the
        // 1,000,000-user check. Unsubscribing takes the subscription out of the lookup at once, so no new
        // message can find it; destroying it only after a grace period lets a message already found finish.
        natsSubscription_Unsubscribe(self.handle)
        DelayedDestruction.destroy(self.handle, keeping: self.connection)
    }

    /// The next message, or `nil` when none came within the timeout. The corresponding C function is
    /// `natsSubscription_NextMsg`.
    public func next(timeoutMillis: Int64) throws(NATSError) -> NATSMessage? {
        var message: OpaquePointer?
        let status = natsSubscription_NextMsg(&message, self.handle, timeoutMillis)
        if status == NATS_TIMEOUT { return nil }
        try check(status, "wait for a message on \(self.subject)")
        return NATSMessage(owning: message!)
    }

    /// Up to `batch` messages of a pull consumer, as soon as some are there, else after the timeout
    /// (then none). The corresponding C function is `natsSubscription_Fetch`.
    public func fetch(batch: Int, timeoutMillis: Int64) throws(NATSError) -> [NATSMessage] {
        var list = natsMsgList()
        var code = jsErrCode(rawValue: 0)
        let status = natsSubscription_Fetch(&list, self.handle, Int32(batch), timeoutMillis, &code)
        if status == NATS_TIMEOUT { return [] }
        try check(status, "fetch from \(self.subject)", jetStreamCode: code)
        var messages: [NATSMessage] = []
        messages.reserveCapacity(Int(list.Count))
        for i in 0..<Int(list.Count) {
            // Each message now belongs to its NATSMessage; the list only frees its array.
            messages.append(NATSMessage(owning: list.Msgs[i]!))
            list.Msgs[i] = nil
        }
        natsMsgList_Destroy(&list)
        return messages
    }

    /// Stops the subscription (the server stops sending to it). The corresponding C function is
    /// `natsSubscription_Unsubscribe`.
    public func unsubscribe() throws(NATSError) {
        try check(natsSubscription_Unsubscribe(self.handle), "unsubscribe from \(self.subject)")
    }

    /// Replies to `message` on its reply subject.
    public func respond(to message: NATSMessage, _ data: [UInt8]) throws(NATSError) {
        guard let reply = message.reply else { return }
        try self.connection.publish(reply, data)
    }

    var subject: String { natsSubscription_GetSubject(self.handle).map { String(cString: $0) } ?? "a subscription" }
}

/// Destroys unsubscribed subscriptions after ``grace`` (see `NATSSubscription.deinit`).
enum DelayedDestruction {
    /// Far longer than the reading thread holds a subscription it looked up (microseconds; a
    /// descheduled thread on a loaded machine, some milliseconds).
    static let grace: DispatchTimeInterval = .seconds(10)

    static func destroy(_ handle: OpaquePointer, keeping connection: NATSConnection) {
        let doomed = Doomed(handle: handle, connection: connection)
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + Self.grace) {
            natsSubscription_Destroy(doomed.handle)
        }
    }

    /// The subscription and its connection, which the closure keeps alive until the destroy.
    /// `@unchecked Sendable`: handed to the one closure that destroys it.
    private struct Doomed: @unchecked Sendable {
        let handle: OpaquePointer
        let connection: NATSConnection
    }
}
