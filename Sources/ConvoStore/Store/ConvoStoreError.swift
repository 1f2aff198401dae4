#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// What can go wrong in a store, each case naming what and where.
public enum ConvoStoreError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A field broke a limit, such as an id over 64 bytes or a body over 64 KiB.
    case limitExceeded(field: String, limit: Int, actual: Int)
    /// A field is missing or out of range.
    case invalidField(field: String, reason: String)
    /// A message id was seen before for this business with different content.
    case conflictingMessage(business: String, id: String)
    /// A live business block was refused: the customer's window is not open.
    case businessBlockOutsideWindow(business: String, customer: String)
    /// The store on disk holds a record that cannot be decoded.
    case corruptRecord(database: String, detail: String)
    /// The store was created with other settings, or by an incompatible version.
    case incompatibleStore(String)
    /// The store is closed.
    case closed
    /// A file operation failed: what was done, on which path, and the system's error number.
    case io(operation: String, path: String, errno: Int32)
    /// An event before the retention horizon (R9): history before it was purged, so the event can
    /// no longer be recorded exactly.
    case beforeHorizon(Int64)
    /// An erasure named a customer the store does not know.
    case unknownCustomer(String)

    /// A sentence for a person.
    public var description: String {
        switch self {
        case .limitExceeded(let field, let limit, let actual):
            return "\(field) is \(actual) bytes, over the limit of \(limit)"
        case .invalidField(let field, let reason):
            return "\(field): \(reason)"
        case .conflictingMessage(let business, let id):
            return "message id \(Display.quoted(id)) of business \(Display.quoted(business)) was already recorded with different content"
        case .businessBlockOutsideWindow(let business, let customer):
            return "business \(Display.quoted(business)) may block \(Display.quoted(customer)) only while the customer's window is open"
        case .corruptRecord(let database, let detail):
            return "corrupt record in \(database): \(detail); the store is damaged (check() lists what)"
        case .incompatibleStore(let detail):
            return "incompatible store: \(detail)"
        case .closed:
            return "the store is closed"
        case .beforeHorizon(let horizon):
            return "before the retention horizon \(Timestamp.format(horizon))"
        case .unknownCustomer(let customer):
            return "no conversation or link names the customer \(Display.quoted(customer))"
        case .io(let operation, let path, let code):
            return "cannot \(operation) \(path): \(String(cString: strerror(code)))"
        }
    }
}
