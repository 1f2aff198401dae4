import CNATS

/// A value of a key-value bucket and the revision that wrote it.
public struct KeyValueEntry: Sendable, Hashable {
    /// The value's bytes.
    public var value: [UInt8]
    /// The bucket's sequence of the write: ``KeyValueBucket/update(_:_:lastRevision:)`` succeeds only
    /// against the latest.
    public var revision: UInt64
}

/// A JetStream key-value bucket (`kvStore`): the compare-and-set register the cluster's configuration and
/// leases live in. Destroyed with this object.
///
/// `@unchecked Sendable`: the C bucket handle is thread-safe, as its JetStream context is.
public final class KeyValueBucket: @unchecked Sendable {
    private let handle: OpaquePointer
    /// The bucket's name.
    public let name: String
    /// Kept so that the context outlives the bucket handle.
    private let context: JetStream

    init(owning handle: OpaquePointer, name: String, context: JetStream) {
        self.handle = handle
        self.name = name
        self.context = context
    }

    deinit {
        kvStore_Destroy(self.handle)
    }

    /// Writes `value` under `key` only if the key has no live value (never written, deleted, or expired);
    /// returns the new revision, or `nil` when someone else's value is there. The corresponding C
    /// function is `kvStore_Create`.
    public func create(_ key: String, _ value: [UInt8]) throws(NATSError) -> UInt64? {
        var revision: UInt64 = 0
        var code = jsErrCode(rawValue: 0)
        let status = value.withUnsafeBytes { kvStore_Create(&revision, self.handle, key, $0.baseAddress, Int32($0.count)) }
        if status == NATS_ERR, Self.lastErrorIsWrongRevision(&code) { return nil }
        try check(status, "create \(key) in \(self.name)", jetStreamCode: code)
        return revision
    }

    /// Writes `value` under `key` only if its latest revision is still `lastRevision`; returns the new
    /// revision, or `nil` when it was written since (or deleted, or expired). The corresponding C
    /// function is `kvStore_Update`.
    public func update(_ key: String, _ value: [UInt8], lastRevision: UInt64) throws(NATSError) -> UInt64? {
        var revision: UInt64 = 0
        var code = jsErrCode(rawValue: 0)
        let status = value.withUnsafeBytes { kvStore_Update(&revision, self.handle, key, $0.baseAddress, Int32($0.count), lastRevision) }
        if status == NATS_ERR, Self.lastErrorIsWrongRevision(&code) { return nil }
        try check(status, "update \(key) in \(self.name) at revision \(lastRevision)", jetStreamCode: code)
        return revision
    }

    /// Writes `value` under `key` whatever is there; returns the new revision. The corresponding C
    /// function is `kvStore_Put`.
    public func put(_ key: String, _ value: [UInt8]) throws(NATSError) -> UInt64 {
        var revision: UInt64 = 0
        let status = value.withUnsafeBytes { kvStore_Put(&revision, self.handle, key, $0.baseAddress, Int32($0.count)) }
        try check(status, "write \(key) in \(self.name)")
        return revision
    }

    /// The live value of `key`, or `nil` (never written, deleted, expired). The corresponding C function
    /// is `kvStore_Get`.
    public func get(_ key: String) throws(NATSError) -> KeyValueEntry? {
        var entry: OpaquePointer?
        let status = kvStore_Get(&entry, self.handle, key)
        if status == NATS_NOT_FOUND { return nil }
        try check(status, "read \(key) in \(self.name)")
        defer { kvEntry_Destroy(entry) }
        let count = Int(kvEntry_ValueLen(entry))
        var value: [UInt8] = []
        if count > 0, let base = kvEntry_Value(entry) {
            value = Array(UnsafeRawBufferPointer(start: base, count: count))
        }
        return KeyValueEntry(value: value, revision: kvEntry_Revision(entry))
    }

    /// Deletes `key` (a delete marker: a later ``create(_:_:)`` succeeds). The corresponding C function is
    /// `kvStore_Delete`.
    public func delete(_ key: String) throws(NATSError) {
        try check(kvStore_Delete(self.handle, key), "delete \(key) in \(self.name)")
    }

    /// The keys with a live value: the subjects of the bucket's stream, from its leader, each read back
    /// (a subject's last message may be a delete marker). Not `kvStore_Keys`: its listing, a watcher of
    /// each subject's last message that stops when none is pending, names a key twice or leaves one out
    /// when keys are written while it lists (the liveness keys are, every round of every node).
    public func keys() throws(NATSError) -> [String] {
        let prefix = "$KV.\(self.name)."
        var keys: [String] = []
        for subject in try self.context.streamSubjects(Self.stream(of: self.name), matching: prefix + ">") where subject.hasPrefix(prefix) {
            let key = String(subject.dropFirst(prefix.count))
            if try self.get(key) != nil { keys.append(key) }
        }
        return keys.sorted()
    }

    /// The stream that holds `bucket` (the key-value convention every client follows).
    static func stream(of bucket: String) -> String { "KV_" + bucket }

    /// Whether the last failure of this thread was JetStream's "wrong last sequence" (10071): a
    /// compare-and-set that lost, not an error.
    private static func lastErrorIsWrongRevision(_ code: inout jsErrCode) -> Bool {
        var status = NATS_OK
        let text = nats_GetLastError(&status).map { String(cString: $0) } ?? ""
        if text.contains("10071") || text.lowercased().contains("wrong last sequence") {
            code = JSStreamWrongLastSequenceErr
            return true
        }
        return false
    }
}
