import CNATS

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A connection to a NATS cluster (`natsConnection`), reconnecting to any of its servers by itself.
///
/// `@unchecked Sendable`: the C client's connection is thread-safe (its calls take the connection's lock).
public final class NATSConnection: @unchecked Sendable {
    let handle: OpaquePointer

    /// Connects to the first reachable of `urls` (`nats://127.0.0.1:4222`), then keeps reconnecting to any
    /// of them for ever when a server goes away. The corresponding C function is `natsConnection_Connect`.
    public init(urls: [String], name: String, timeoutMillis: Int64 = 5_000) throws(NATSError) {
        guard !urls.isEmpty else {
            throw NATSError(operation: "connect", status: NATS_INVALID_ARG.rawValue, jetStreamCode: 0, text: "no server URL given (--nats nats://HOST:PORT[,...])")
        }
        var options: OpaquePointer?
        try check(natsOptions_Create(&options), "connect: create options")
        defer { natsOptions_Destroy(options) }
        let joined = urls.joined(separator: ", ")
        var pointers = urls.map { strdup($0) }
        defer { pointers.forEach { free($0) } }
        let status = pointers.withUnsafeMutableBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: UnsafePointer<CChar>?.self, capacity: buffer.count) {
                natsOptions_SetServers(options, $0, Int32(buffer.count))
            }
        }
        try check(status, "connect: servers \(joined)")
        try check(natsOptions_SetName(options, name), "connect: name")
        try check(natsOptions_SetTimeout(options, timeoutMillis), "connect: timeout")
        try check(natsOptions_SetMaxReconnect(options, -1), "connect: reconnect")
        try check(natsOptions_SetReconnectWait(options, 250), "connect: reconnect wait")
        // Publishes made while reconnecting are buffered (8 MiB) and sent once a server is back.
        try check(natsOptions_SetReconnectBufSize(options, 8 << 20), "connect: reconnect buffer")
        var connection: OpaquePointer?
        try check(natsConnection_Connect(&connection, options), "connect to \(joined)")
        self.handle = connection!
    }

    deinit {
        natsConnection_Destroy(self.handle)
    }

    /// Closes the connection (subscriptions end, pending publishes are flushed first by the server's
    /// side of nothing: call ``flush(timeoutMillis:)`` before if they matter). The corresponding C function
    /// is `natsConnection_Close`.
    public func close() {
        natsConnection_Close(self.handle)
    }

    /// Waits until the server has processed everything sent so far. The corresponding C function is
    /// `natsConnection_FlushTimeout`.
    public func flush(timeoutMillis: Int64 = 5_000) throws(NATSError) {
        try check(natsConnection_FlushTimeout(self.handle, timeoutMillis), "flush")
    }

    /// Publishes `data` to `subject` (core NATS: no acknowledgement). The corresponding C function is
    /// `natsConnection_Publish`.
    public func publish(_ subject: String, _ data: [UInt8]) throws(NATSError) {
        let status = data.withUnsafeBytes { natsConnection_Publish(self.handle, subject, $0.baseAddress, Int32($0.count)) }
        try check(status, "publish to \(subject)")
    }

    /// Publishes `data` to `subject` asking for answers on `reply` (read them from a subscription to
    /// `reply`). The corresponding C function is `natsConnection_PublishRequest`.
    public func publish(_ subject: String, _ data: [UInt8], reply: String) throws(NATSError) {
        let status = data.withUnsafeBytes { natsConnection_PublishRequest(self.handle, subject, reply, $0.baseAddress, Int32($0.count)) }
        try check(status, "publish a request to \(subject)")
    }

    /// A subject no one else uses, for answers (`_INBOX.` and a random id).
    public func newInbox() -> String {
        "_INBOX." + String(UInt64.random(in: 0 ... .max), radix: 36) + String(UInt64.random(in: 0 ... .max), radix: 36)
    }

    /// Sends a request to `subject` and waits for one reply. A subject nobody serves fails at once with
    /// ``NATSError/isNoResponders``. The corresponding C function is `natsConnection_RequestMsg`.
    public func request(_ subject: String, _ data: [UInt8], timeoutMillis: Int64) throws(NATSError) -> NATSMessage {
        let message = try NATSMessage(subject: subject, data: data)
        var reply: OpaquePointer?
        try check(natsConnection_RequestMsg(&reply, self.handle, message.handle, timeoutMillis), "request on \(subject)")
        return NATSMessage(owning: reply!)
    }

    /// A synchronous subscription to `subject`, read with ``NATSSubscription/next(timeoutMillis:)``. The
    /// corresponding C function is `natsConnection_SubscribeSync`.
    public func subscribe(_ subject: String) throws(NATSError) -> NATSSubscription {
        var subscription: OpaquePointer?
        try check(natsConnection_SubscribeSync(&subscription, self.handle, subject), "subscribe to \(subject)")
        return NATSSubscription(owning: subscription!, connection: self)
    }

    /// The JetStream context of this connection; `waitMillis` bounds each JetStream API call.
    public func jetStream(waitMillis: Int64 = 10_000) throws(NATSError) -> JetStream {
        try JetStream(connection: self, waitMillis: waitMillis)
    }
}
