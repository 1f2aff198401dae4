import CLMDB

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An error from LMDB or from this wrapper, with the failing operation and LMDB's own text.
///
/// "Not found" is never an error here: lookups return `nil` instead.
public struct LMDBError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What went wrong, one case per `MDB_*` return code, plus `errno` values and this wrapper's limits.
    public enum Code: Equatable, Sendable {
        /// `MDB_KEYEXIST`: the key (or key/value pair) is already there and overwriting was not allowed.
        case keyExists
        /// `MDB_NOTFOUND`, where absence is a failure (for example deleting through a closed cursor).
        case notFound
        /// `MDB_PAGE_NOTFOUND`: a page the tree points to is missing; the file is damaged.
        case pageNotFound
        /// `MDB_CORRUPTED`: a page has the wrong type; the file is damaged.
        case corrupted
        /// `MDB_PANIC`: an earlier fatal error poisoned the environment; reopen it.
        case panic
        /// `MDB_VERSION_MISMATCH`: the file was written by an incompatible LMDB.
        case versionMismatch
        /// `MDB_INVALID`: the file is not an LMDB file.
        case invalid
        /// `MDB_MAP_FULL`: the map is full. The wrapper grows the map and retries, so callers see
        /// ``mapSizeLimitReached(mapSize:maxMapSize:)`` instead once the configured maximum is reached.
        case mapFull
        /// `MDB_DBS_FULL`: more named databases than `maxDatabases`.
        case databasesFull
        /// `MDB_READERS_FULL`: every reader slot is taken; raise `maxReaders`.
        case readersFull
        /// `MDB_TLS_FULL`: too many thread-local reader slots.
        case tlsFull
        /// `MDB_TXN_FULL`: one transaction dirtied too many pages; commit in smaller batches.
        case transactionFull
        /// `MDB_CURSOR_FULL`: the tree is too deep for a cursor.
        case cursorFull
        /// `MDB_PAGE_FULL`: internal page space exhausted.
        case pageFull
        /// `MDB_MAP_RESIZED`: another process grew the map. The wrapper adopts the new size and retries.
        case mapResized
        /// `MDB_INCOMPATIBLE`: the operation does not fit the database's flags.
        case incompatible
        /// `MDB_BAD_RSLOT`: a reader slot was misused.
        case badReaderSlot
        /// `MDB_BAD_TXN`: the transaction can no longer be used (an earlier operation in it failed).
        case badTransaction
        /// `MDB_BAD_VALSIZE`: a key is empty or longer than 511 bytes, or a DUPSORT value is too long.
        case badValueSize
        /// `MDB_BAD_DBI`: the database handle is not valid (closed or from another environment).
        case badDatabase
        /// An operating-system error (`errno`), such as `ENOSPC` or `EACCES`.
        case system(errno: Int32)
        /// The map reached its configured maximum and cannot grow further.
        case mapSizeLimitReached(mapSize: Int, maxMapSize: Int)
        /// The path is already open in this process with different options.
        case alreadyOpen(path: String)
        /// An LMDB return code this wrapper does not know.
        case unknown(Int32)
    }

    /// The kind of failure.
    public let code: Code
    /// The operation that failed, such as `mdb_put` or `Environment.open`.
    public let operation: String
    /// A sentence for a person: LMDB's `mdb_strerror` text and, where useful, what to do.
    public let message: String

    /// Makes an error from a code, the operation and a message.
    public init(_ code: Code, operation: String, message: String) {
        self.code = code
        self.operation = operation
        self.message = message
    }

    /// Makes an error from an LMDB return code (negative `MDB_*` or positive `errno`).
    public init(returnCode: Int32, operation: String) {
        self.code = Code(returnCode: returnCode)
        self.operation = operation
        self.message = String(cString: mdb_strerror(returnCode))
    }

    /// `operation: message`.
    public var description: String { "\(self.operation): \(self.message)" }
}

extension LMDBError.Code {
    /// Maps an LMDB return code to its case.
    init(returnCode rc: Int32) {
        switch rc {
        case MDB_KEYEXIST: self = .keyExists
        case MDB_NOTFOUND: self = .notFound
        case MDB_PAGE_NOTFOUND: self = .pageNotFound
        case MDB_CORRUPTED: self = .corrupted
        case MDB_PANIC: self = .panic
        case MDB_VERSION_MISMATCH: self = .versionMismatch
        case MDB_INVALID: self = .invalid
        case MDB_MAP_FULL: self = .mapFull
        case MDB_DBS_FULL: self = .databasesFull
        case MDB_READERS_FULL: self = .readersFull
        case MDB_TLS_FULL: self = .tlsFull
        case MDB_TXN_FULL: self = .transactionFull
        case MDB_CURSOR_FULL: self = .cursorFull
        case MDB_PAGE_FULL: self = .pageFull
        case MDB_MAP_RESIZED: self = .mapResized
        case MDB_INCOMPATIBLE: self = .incompatible
        case MDB_BAD_RSLOT: self = .badReaderSlot
        case MDB_BAD_TXN: self = .badTransaction
        case MDB_BAD_VALSIZE: self = .badValueSize
        case MDB_BAD_DBI: self = .badDatabase
        case let errno where errno > 0: self = .system(errno: errno)
        default: self = .unknown(rc)
        }
    }
}

/// The one place every LMDB return code passes through: success is silence, anything else a typed error.
@inlinable
func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
    guard rc == MDB_SUCCESS else {
        throw LMDBError(returnCode: rc, operation: operation())
    }
}
