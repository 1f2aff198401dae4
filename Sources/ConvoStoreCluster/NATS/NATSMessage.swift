import CNATS

/// A NATS message (`natsMsg`) owned by this object: destroyed with it (`natsMsg_Destroy`).
///
/// `@unchecked Sendable`: handed from the thread that received it to the one that handles it, never
/// used by two at once.
public final class NATSMessage: @unchecked Sendable {
    private(set) var handle: OpaquePointer?

    /// A new message to publish.
    public init(subject: String, data: [UInt8], reply: String? = nil) throws(NATSError) {
        var message: OpaquePointer?
        let status = data.withUnsafeBytes { raw in
            natsMsg_Create(&message, subject, reply, raw.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(raw.count))
        }
        try check(status, "create a message for \(subject)")
        self.handle = message
    }

    /// Takes ownership of a message the C client handed over.
    init(owning handle: OpaquePointer) {
        self.handle = handle
    }

    deinit {
        natsMsg_Destroy(self.handle)
    }

    /// Gives the message to a C call that takes ownership of it (it clears the pointer it is given).
    func transfer(_ body: (UnsafeMutablePointer<OpaquePointer?>) -> natsStatus) -> natsStatus {
        body(&self.handle)
    }

    /// The subject it was published to.
    public var subject: String { String(cString: natsMsg_GetSubject(self.handle)) }

    /// The reply subject, if the sender waits for an answer.
    public var reply: String? { natsMsg_GetReply(self.handle).map { String(cString: $0) } }

    /// The payload, copied.
    public var data: [UInt8] {
        let count = Int(natsMsg_GetDataLength(self.handle))
        guard count > 0, let base = natsMsg_GetData(self.handle) else { return [] }
        return base.withMemoryRebound(to: UInt8.self, capacity: count) { Array(UnsafeBufferPointer(start: $0, count: count)) }
    }

    /// Runs `body` on the payload in place (valid only inside it).
    public func withData<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let count = Int(natsMsg_GetDataLength(self.handle))
        guard count > 0, let base = natsMsg_GetData(self.handle) else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Sets a header (`Nats-Msg-Id`, or one of this project's). The corresponding C function is `natsMsgHeader_Set`.
    public func setHeader(_ key: String, _ value: String) throws(NATSError) {
        try check(natsMsgHeader_Set(self.handle, key, value), "set header \(key)")
    }

    /// A header's first value, or `nil` when the message has none of that name.
    public func header(_ key: String) -> String? {
        var value: UnsafePointer<CChar>?
        guard natsMsgHeader_Get(self.handle, key, &value) == NATS_OK, let value else { return nil }
        return String(cString: value)
    }

    /// For a message delivered by a JetStream consumer: its sequence in the stream. The corresponding C
    /// function is `natsMsg_GetMetaData`.
    public func streamSequence() throws(NATSError) -> UInt64 {
        var meta: UnsafeMutablePointer<jsMsgMetaData>?
        try check(natsMsg_GetMetaData(&meta, self.handle), "read the JetStream metadata of a message on \(self.subject)")
        defer { jsMsgMetaData_Destroy(meta) }
        return meta!.pointee.Sequence.Stream
    }

    /// Acknowledges a JetStream message, waiting for the server to confirm it. The corresponding C
    /// function is `natsMsg_AckSync`.
    public func acknowledge() throws(NATSError) {
        var code = jsErrCode(rawValue: 0)
        try check(natsMsg_AckSync(self.handle, nil, &code), "acknowledge a message on \(self.subject)", jetStreamCode: code)
    }

    /// Acknowledges a JetStream message without waiting. The corresponding C function is `natsMsg_Ack`.
    public func acknowledgeAsync() throws(NATSError) {
        try check(natsMsg_Ack(self.handle, nil), "acknowledge a message on \(self.subject)")
    }
}
