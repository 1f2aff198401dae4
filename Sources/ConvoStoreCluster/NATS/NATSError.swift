import CNATS

/// An error from the NATS C client (or from JetStream through it): the operation that failed, the
/// client's status, JetStream's own error code when the server sent one, and the client's text.
public struct NATSError: Error, Sendable, CustomStringConvertible {
    /// What was being done, such as `publish to convo.events.3` or `create the lease of partition 2`.
    public var operation: String
    /// The client's status (`natsStatus`).
    public var status: UInt32
    /// JetStream's error code (`jsErrCode`, such as 10059 stream not found); 0 when there is none.
    public var jetStreamCode: Int
    /// The client's text for the failure (`nats_GetLastError`, else `natsStatus_GetText`).
    public var text: String

    /// The call timed out (no answer in time: a leader election under way, a server down).
    public var isTimeout: Bool { self.status == NATS_TIMEOUT.rawValue }
    /// A request found no subscriber for its subject (nobody serves it).
    public var isNoResponders: Bool { self.status == NATS_NO_RESPONDERS.rawValue }
    /// The thing looked up is not there (a key, a stream, a consumer).
    public var isNotFound: Bool { self.status == NATS_NOT_FOUND.rawValue }

    public var description: String {
        let code = self.jetStreamCode != 0 ? " (JetStream error \(self.jetStreamCode))" : ""
        return "\(self.operation): \(self.text)\(code)"
    }
}

/// The one funnel every C call of this module goes through: `NATS_OK` passes, anything else becomes a
/// ``NATSError`` naming the operation, with the client's own text for this thread's last error.
@inline(__always)
func check(_ status: natsStatus, _ operation: @autoclosure () -> String, jetStreamCode: jsErrCode = jsErrCode(rawValue: 0)) throws(NATSError) {
    guard status != NATS_OK else { return }
    throw makeError(status, operation(), jetStreamCode: jetStreamCode)
}

/// The error of a failed call (see ``check(_:_:jetStreamCode:)``).
func makeError(_ status: natsStatus, _ operation: String, jetStreamCode: jsErrCode = jsErrCode(rawValue: 0)) -> NATSError {
    var last = NATS_OK
    var text = nats_GetLastError(&last).map { String(cString: $0) } ?? ""
    if last != status || text.isEmpty { text = String(cString: natsStatus_GetText(status)) }
    return NATSError(operation: operation, status: status.rawValue, jetStreamCode: Int(jetStreamCode.rawValue), text: text)
}
