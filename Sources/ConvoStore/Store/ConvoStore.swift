import Foundation
import LMDB
import Logging

/// Options for opening a store that are not kept in it.
public struct StoreOptions: Sendable {
    /// The initial map size; the map grows by doubling as needed.
    public var initialMapSize: Int = 64 << 20
    /// The largest the store's map may grow to.
    public var maxMapSize: Int = 1 << 40
    /// Concurrent read transactions (reader threads) allowed.
    public var maxReaders: UInt32 = 126
    /// Overrides the durability kept in the store's settings for this process (for bulk loads).
    public var durabilityOverride: StoreDurability?
    /// The most events the async writer puts in one commit.
    public var maxEventsPerCommit = 10_000
    /// Where the store logs (never message bodies).
    public var logger = Logger(label: "convostore")
    /// Upgrade a store of an earlier format (2 to 4) on open (``ConvoStore/upgrade(at:)``); else such
    /// a store is refused with a clear error.
    public var upgradeFormat = false
    /// Whether this process purges continuously when the store has a retention
    /// (``ConvoStore/setRetention(_:)``): a server's or an embedding application's long-lived
    /// writer should; a short command that only reads or loads need not.
    public var continuousRetention = true
    /// Now, in epoch milliseconds: what continuous retention counts back from. The wall clock by
    /// default; a simulation of days (the benchmark's) or a test gives its own.
    public var clock: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }

    /// The defaults.
    public init() {}
}

/// An embedded store of business conversations on LMDB: messages, windows, replies due, controls
/// and charges, with time-ordered indexes so every scan costs O(log n + results).
///
/// ```swift
/// let store = try ConvoStore.open(at: "/var/lib/chat/store")
/// // A server: many tasks submit; each returns after the group commit that holds its events.
/// let results = try await store.submit([.message(inbound)])
/// let decision = try await store.send(reply)          // checked and recorded in one transaction
/// let overdue = try store.overdue(asOf: now)          // O(log n + results)
/// ```
public final class ConvoStore: Sendable {
    /// The directory of the store.
    public let path: String
    /// The rules' numbers, kept in the store.
    public let settings: StoreSettings
    let environment: Environment
    let databases: Databases
    let writer: GroupCommitWriter
    let logger: Logger
    /// The rate card, parsed once per change (R7).
    let pricing = PricingCache()
    /// StoreOptions' clock and whether this process purges continuously.
    let clock: @Sendable () -> Int64
    let continuousRetention: Bool

    /// 1: the first layout; 2: conversation records moved next to their messages; 3: checksummed
    /// records, charges by market and day (R7), reaches (R8), purge summaries and identities (R9,
    /// user ids) (KeyLayout.swift); 4: a conversation record with controls holds its latest control's
    /// time, so that a send check after it reads no controls; 5: `messageIDs` keyed by a hash of the
    /// business and the id (KeyLayout.swift). Stores of formats 2 to 4 open after
    /// ``upgrade(at:)``: format 3 and 4 ones in place, by writing their id index again (a format-3
    /// store's records lack format 4's field, which a reader treats as unknown when absent).
    static let formatVersion: UInt32 = 5
    static let formatKey = Array("format".utf8)
    private static let settingsKey = Array("settings".utf8)

    /// Opens the store at `path`, creating it (with `settings`, or the defaults) if it does not exist.
    ///
    /// - Throws: ``ConvoStoreError/incompatibleStore(_:)`` if the store exists with other settings.
    public static func open(at path: String, settings: StoreSettings? = nil, options: StoreOptions = .init()) throws -> ConvoStore {
        try settings?.validate()
        if options.upgradeFormat, access(path + "/data.mdb", F_OK) == 0, !Environment.isOpenInThisProcess(path: path) {
            try Self.upgrade(at: path)
        }
        var lmdb = EnvironmentOptions()
        lmdb.mapSize = options.initialMapSize
        lmdb.maxMapSize = options.maxMapSize
        lmdb.maxReaders = options.maxReaders
        lmdb.maxDatabases = 32  // room for Databases.count and more; the wrapper's default, so tools opening the environment share it
        // Durability is known only after reading the settings; reopen below if it differs.
        let environment = try Environment.open(path: path, options: lmdb)
        let (databases, stored) = try Self.prepare(environment, settings: settings)
        try environment.setDurability((options.durabilityOverride ?? stored.durability).lmdb)
        let store = ConvoStore(path: environment.path, settings: stored, environment: environment, databases: databases, options: options)
        if options.continuousRetention, let retention = try store.retention() {
            store.writer.keepOnly(retention, clock: options.clock, of: store)
        }
        store.warnOfLongFreeList()
        return store
    }

    /// The free-page list's size from which opening warns: 1 MiB of page numbers, 131,072 free pages.
    /// At 1,000,000 users, an import in commits of 100,000 events leaves 2.6 MiB, `convostore import`
    /// (5,000 lines a commit) 348 KiB, and commits of 1,000 events on a compacted store keep it small.
    static let longFreeListBytes = 1 << 20

    /// Warns when LMDB's free-page list is long. A commit that reuses free pages writes back the part
    /// of the list it read, and LMDB 0.9 reads all of a fragmented list when it needs a run of pages
    /// for the list itself: after a large import, a commit of one event writes megabytes and may take
    /// tens of milliseconds, until commits have reused the list (docs/performance.md, "The free-page
    /// list an import leaves"). A compaction empties it. Large commits write faster on that list
    /// only while it lasts: over 12 live hours at 1M users, raw LMDB ran as fast compacted.
    private func warnOfLongFreeList() {
        guard let list = try? self.environment.read({ try $0.freePageList() }), list.listBytes >= Self.longFreeListBytes else { return }
        self.logger.warning(
            """
            \(Display.safe(self.path)): LMDB's free-page list is \(list.listBytes >> 10) KiB (\(list.pages) free pages, \(list.freeBytes >> 20) MiB, \
            in \(list.records) records), as large commits (an import, a purge) leave it. Until commits have reused those pages, a commit of a \
            few events may write the list again and take tens of milliseconds. `convostore compact` (ConvoStore.compact(at:)), with the \
            store closed elsewhere, empties it (docs/performance.md, "The free-page list an import leaves")
            """)
    }

    private init(path: String, settings: StoreSettings, environment: Environment, databases: Databases, options: StoreOptions) {
        self.path = path
        self.settings = settings
        self.environment = environment
        self.databases = databases
        self.logger = options.logger
        self.writer = GroupCommitWriter(maxEventsPerCommit: options.maxEventsPerCommit, logger: options.logger)
        self.clock = options.clock
        self.continuousRetention = options.continuousRetention
    }

    deinit {
        self.writer.stop()
    }

    private static func prepare(_ env: Environment, settings: StoreSettings?) throws -> (Databases, StoreSettings) {
        return try env.write { txn in
            let databases = try Databases(txn)
            if let raw = try txn.get(databases.meta, key: formatKey) {
                let format = raw.count == 4 ? BigEndian.read(UInt32.self, from: raw) : nil
                guard let format, format == formatVersion else {
                    let found = format.map { "\($0)" } ?? "\(Array(raw))"
                    throw ConvoStoreError.incompatibleStore(
                        (2..<formatVersion).contains(format ?? 0)
                            ? "\(env.path) has store format \(found), this build reads \(formatVersion): upgrade it (ConvoStore.upgrade, `convostore upgrade`)"
                            : "\(env.path) has store format \(found), this build reads \(formatVersion): export it with the build that wrote it, then import")
                }
                guard let json = try txn.get(databases.meta, key: settingsKey) else {
                    throw ConvoStoreError.corruptRecord(database: "meta", detail: "settings missing")
                }
                let stored = try JSONDecoder().decode(StoreSettings.self, from: Data(json))
                if let settings, settings != stored {
                    throw ConvoStoreError.incompatibleStore("\(env.path) was created with other settings; open it without settings to use its own")
                }
                return (databases, stored)
            }
            let chosen = settings ?? StoreSettings()
            try txn.put(databases.meta, key: formatKey, value: BigEndian.bytes(formatVersion))
            try txn.put(databases.meta, key: settingsKey, value: Array(try JSONEncoder().encode(chosen)))
            return (databases, chosen)
        }
    }

    // MARK: Transactions

    /// Runs `body` with a snapshot of the store; many threads may read at once.
    public func read<T>(_ body: (StoreReader) throws -> T) throws -> T {
        try self.environment.read { txn in
            try body(StoreReader(reader: ConversationReader(txn: txn, db: self.databases, settings: self.settings, pricing: self.pricing)))
        }
    }

    /// Stops the writer thread after the commits under way; later async writes throw ``ConvoStoreError/closed``.
    public func close() {
        self.writer.stop()
    }
}
