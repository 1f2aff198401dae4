import Foundation
import LMDB

// An operator's tools (docs/lifecycle.md): a consistent backup while writers run, compaction (no
// byte of freed pages left), and the upgrade of a store of the previous format. Each replaces files
// only by renaming a finished, synced file over the old one, so a crash leaves either the old state
// or the new, never half of one.

/// What a backup, compaction or upgrade did.
public struct MaintenanceSummary: Sendable, Hashable {
    /// The data file's size before, in bytes.
    public var bytesBefore: Int
    /// The data file's size after (of the copy, for a backup), in bytes.
    public var bytesAfter: Int
    /// Events recorded again (an upgrade of format 2).
    public var events = 0
    /// Messages whose id was indexed again (an upgrade of format 3 or 4).
    public var messageIDs = 0
    /// Whether there was nothing to do (an upgrade of a current store).
    public var alreadyDone = false
}

extension ConvoStore {
    // MARK: Backup

    /// Copies the store to the directory `path` (created 0700 if missing; it must be empty) while
    /// writers go on: the copy is one committed state, synced to disk, and opens as a store as it
    /// is. Restoring is opening the copy. With `compact`, free pages are left out.
    @discardableResult
    public func backup(to path: String, compact: Bool = false) throws -> MaintenanceSummary {
        try Self.prepareEmptyDirectory(path)
        let target = path + "/data.mdb"
        let file = try SystemFile.open(target, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        do {
            try self.environment.copy(toDescriptor: file.descriptor, compact: compact)
        } catch {
            unlink(target)
            throw error
        }
        if let dir = try? SystemFile.open(path, flags: O_RDONLY | O_DIRECTORY) { try? dir.sync() }
        return MaintenanceSummary(bytesBefore: Self.fileSize(self.path + "/data.mdb"), bytesAfter: Self.fileSize(target))
    }

    private static func prepareEmptyDirectory(_ path: String) throws {
        if mkdir(path, 0o700) != 0 {
            guard errno == EEXIST else { throw ConvoStoreError.io(operation: "create the directory", path: path, errno: errno) }
            let entries = try FileManager.default.contentsOfDirectory(atPath: path)
            guard entries.isEmpty else {
                throw ConvoStoreError.invalidField(field: "to", reason: "\(Display.safe(path)) is not empty (\(entries.count) entries): a backup goes to a new or empty directory")
            }
        }
    }

    static func fileSize(_ path: String) -> Int {
        var info = stat()
        return stat(path, &info) == 0 ? Int(info.st_size) : 0
    }

    // MARK: Compaction

    /// Rewrites the store at `path` without free pages (LMDB's compacting copy, swapped in by a
    /// rename), so that after an erasure no byte of the erased ids or bodies is left in its files.
    /// Refused while another process has the store open; this process must not have it open either.
    @discardableResult
    public static func compact(at path: String) throws -> MaintenanceSummary {
        try Self.requireExclusive(path, doing: "compact")
        let data = path + "/data.mdb"
        let temporary = path + "/data.mdb.compacting"
        let before = Self.fileSize(data)
        unlink(temporary)  // a compaction killed before its rename
        let store = try ConvoStore.open(at: path)
        let lastCommit: Int
        do {
            lastCommit = try store.environment.info().lastTransactionID
            let file = try SystemFile.open(temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
            try store.environment.copy(toDescriptor: file.descriptor, compact: true)
            // A process that opened the store meanwhile and committed would lose its commit.
            guard try store.environment.info().lastTransactionID == lastCommit else {
                throw ConvoStoreError.incompatibleStore("\(path) was written while it was being compacted: run compact again with no other process using the store")
            }
        } catch {
            store.close()
            unlink(temporary)
            throw error
        }
        store.close()
        guard rename(temporary, data) == 0 else {
            let code = errno
            unlink(temporary)
            throw ConvoStoreError.io(operation: "rename the compacted file over", path: data, errno: code)
        }
        if let dir = try? SystemFile.open(path, flags: O_RDONLY | O_DIRECTORY) { try? dir.sync() }
        return MaintenanceSummary(bytesBefore: before, bytesAfter: Self.fileSize(data))
    }

    /// Throws unless no process (this one included) has the store at `path` open.
    static func requireExclusive(_ path: String, doing what: String) throws {
        var info = stat()
        guard stat(path + "/data.mdb", &info) == 0 else {
            throw ConvoStoreError.io(operation: "find a store in", path: path, errno: errno)
        }
        guard !Environment.isOpenInThisProcess(path: path) else {
            throw ConvoStoreError.incompatibleStore("\(path) is open in this process: close it before \(what)")
        }
        guard try !Environment.isOpenElsewhere(directory: path) else {
            throw ConvoStoreError.incompatibleStore("\(path) is open in another process (a server, an import?): stop it before \(what)")
        }
    }

    // MARK: Upgrade

    /// Converts a store of format 2, 3 or 4 at `path` to the current format, keeping every answer.
    /// Format 3 and 4: in place, in one transaction, the id index is written again with the current
    /// keys (it takes a put per kept message: tens of seconds for millions of messages). Format 2:
    /// its history is read with the format-2 codecs and recorded again into a new store beside it,
    /// which is then renamed over the old data file. Killed at any moment, the store is still of its
    /// old format (run the upgrade again) or already the current one. Refused while another process
    /// has the store open.
    @discardableResult
    public static func upgrade(at path: String) throws -> MaintenanceSummary {
        try Self.requireExclusive(path, doing: "upgrade")
        let data = path + "/data.mdb"
        let work = path + "/upgrade.tmp"
        try? FileManager.default.removeItem(atPath: work)  // an upgrade killed before its rename
        var summary = MaintenanceSummary(bytesBefore: Self.fileSize(data), bytesAfter: 0)
        do {
            let old = try Environment.open(path: path)
            let (format, settings) = try Format2.formatAndSettings(old)
            if format == Self.formatVersion {
                summary.alreadyDone = true
                summary.bytesAfter = summary.bytesBefore
                return summary
            }
            if format == 3 || format == 4 {
                summary.messageIDs = try Self.rewriteMessageIDs(old)
                summary.bytesAfter = Self.fileSize(data)
                return summary
            }
            guard format == 2 else {
                throw ConvoStoreError.incompatibleStore("\(path) has store format \(format): this build upgrades formats 2 to 4 only")
            }
            var options = StoreOptions()
            options.durabilityOverride = .unsafeNoSync  // synced once, at the end
            let new = try ConvoStore.open(at: work, settings: settings, options: options)
            defer { new.close() }
            summary.events = try Format2.copy(from: old, into: new)
            try new.environment.sync()
        }
        guard rename(work + "/data.mdb", data) == 0 else {
            throw ConvoStoreError.io(operation: "rename the upgraded file over", path: data, errno: errno)
        }
        if let dir = try? SystemFile.open(path, flags: O_RDONLY | O_DIRECTORY) { try? dir.sync() }
        try? FileManager.default.removeItem(atPath: work)
        summary.bytesAfter = Self.fileSize(data)
        return summary
    }
}

extension ConvoStore {
    /// Formats 3 and 4 to 5: empties `messageIDs` and puts every kept message's id under its current
    /// key (KeyLayout.swift), then marks the store, all in one durable commit; returns the messages.
    /// Format 3's records lack format 4's field, which readers treat as unknown when absent.
    static func rewriteMessageIDs(_ env: Environment) throws -> Int {
        try env.write { txn in
            let db = try Databases(txn)
            try txn.removeAll(db.messageIDs)
            var business: (conversation: UInt32, bytes: [UInt8])?
            var messages = 0
            try txn.forEach(db.messages) { rawKey, rawValue in
                guard rawKey.count == Keys.messageKeyCount else { return true }  // a conversation's record
                let key = try MessageKey(decoding: rawKey)
                let record = try MessageRecord(decoding: rawValue)
                if business?.conversation != key.conversation {
                    guard let raw = try txn.get(db.conversationKeys, key: BigEndian.bytes(key.conversation)) else {
                        throw ConvoStoreError.corruptRecord(database: "conversationKeys", detail: "conversation \(key.conversation) has no key")
                    }
                    business = (key.conversation, try ConversationKey(decoding: raw).business)
                }
                try txn.put(db.messageIDs, key: Keys.messageID(business: business!.bytes, id: record.id, seq: key.seq), value: Array(rawKey))
                messages += 1
                return true
            }
            try txn.put(db.meta, key: Self.formatKey, value: BigEndian.bytes(Self.formatVersion))
            return messages
        }
    }
}

/// Reads a store of format 2 (conversation records next to their messages, unsealed record codecs,
/// a `billing` database) as the events that made it.
enum Format2 {
    static func formatAndSettings(_ env: Environment) throws -> (UInt32, StoreSettings) {
        let meta = try env.openDatabase("meta", flags: [])
        return try env.read { txn in
            guard let raw = try txn.get(meta, key: Array("format".utf8)), raw.count == 4 else {
                throw ConvoStoreError.incompatibleStore("\(env.path) holds no store format")
            }
            guard let json = try txn.get(meta, key: Array("settings".utf8)) else {
                throw ConvoStoreError.corruptRecord(database: "meta", detail: "settings missing")
            }
            return (BigEndian.read(UInt32.self, from: raw), try JSONDecoder().decode(StoreSettings.self, from: Data(json)))
        }
    }

    /// Records every event of the format-2 store `old` into `new`, in commits of about 10,000, one
    /// conversation at a time (memory stays flat); returns how many. A conversation's events are
    /// recorded in the order they were first (their `seq`): it decides between events of one
    /// millisecond (R2, R5), so the upgraded store answers and exports as the old one did.
    static func copy(from old: Environment, into new: ConvoStore) throws -> Int {
        let conversations = try old.openDatabase("conversations", flags: [])
        let messages = try old.openDatabase("messages", flags: [])
        let controls = try old.openDatabase("controls", flags: [])
        let pending = try old.openDatabase("pendingStatus", flags: [])
        let slas = try old.openDatabase("businessSLA", flags: [])
        try old.read { txn in
            try txn.forEach(slas) { key, value in
                var r = ByteReader(key, database: "businessSLA")
                try new.setReplySLA(business: String(utf8Bytes: try r.ordered()), millis: Int64(bitPattern: BigEndian.read(UInt64.self, from: value)))
                return true
            }
        }
        var batch: [Event] = []
        var recorded = 0
        func flush(atLeast: Int) throws {
            guard batch.count >= atLeast, !batch.isEmpty else { return }
            for (event, result) in zip(batch, try new.record(batch)) {
                if case .rejected(let error) = result {
                    throw ConvoStoreError.incompatibleStore("the format-2 store holds an event this build rejects (\(error)): \(event)")
                }
            }
            recorded += batch.count
            batch.removeAll(keepingCapacity: true)
        }
        try old.read { txn in
            try txn.forEach(conversations) { key, value in
                let conversation = try ConversationKey(decoding: key)
                let business = String(utf8Bytes: conversation.business)
                let customer = String(utf8Bytes: conversation.customer)
                let id = try ConversationReader.id(value)
                var inOrder: [(seq: UInt64, events: [Event])] = []
                let range = Keys.messages(of: id)
                try txn.forEach(messages, from: range.from, to: range.to) { k, v in
                    let messageKey = try MessageKey(decoding: k)
                    let record = try MessageRecord(decodingFormat2: v)
                    let stored = StoredMessage(key: messageKey, record: record, business: business, customer: customer)
                    var events: [Event] = [.message(stored.message)]
                    if let status = record.status {
                        events.append(.status(StatusUpdate(business: business, messageID: stored.message.id, status: status, at: record.statusAt ?? messageKey.at)))
                    }
                    inOrder.append((messageKey.seq, events))
                    return true
                }
                try txn.forEach(controls, from: .inclusive(BigEndian.bytes(id)), to: .exclusive(BigEndian.bytes(id) + [0xFF])) { k, v in
                    var r = ByteReader(k, database: "controls")
                    _ = try r.u32()
                    let group = try r.u8()
                    let at = try r.time()
                    let seq = try r.u64()
                    guard v.count == 1, let action = ControlAction(rawValue: v[0]) else {
                        throw ConvoStoreError.corruptRecord(database: "controls", detail: "bad action")
                    }
                    let actor: Actor = group == ControlGroup.businessBlock.rawValue ? .business : .customer
                    inOrder.append((seq, [.control(Control(business: business, customer: customer, actor: actor, action: action, at: at))]))
                    return true
                }
                for item in inOrder.sorted(by: { $0.seq < $1.seq }) { batch += item.events }
                try flush(atLeast: 10_000)
                return true
            }
            try txn.forEach(pending) { key, value in
                var r = ByteReader(key, database: "pendingStatus")
                let business = String(utf8Bytes: try r.ordered())
                let id = String(utf8Bytes: Array(UnsafeRawBufferPointer(rebasing: key[r.offset...])))
                let status = try PendingStatus(decoding: value)
                batch.append(.status(StatusUpdate(business: business, messageID: id, status: status.status, at: status.at)))
                try flush(atLeast: 10_000)
                return true
            }
        }
        try flush(atLeast: 1)
        return recorded
    }
}

extension MessageRecord {
    /// A message record of format 2: the same fields, with no checksum and no second flags byte.
    init(decodingFormat2 buffer: UnsafeRawBufferPointer) throws(ConvoStoreError) {
        var sealed = [UInt8](buffer)
        sealed.append(contentsOf: BigEndian.bytes(CRC32C.checksum(buffer)))
        self = try sealed.withUnsafeBytes { raw in Result { () throws(ConvoStoreError) in try MessageRecord(decoding: raw) } }.get()
    }
}
