import ConvoStore
import Logging
import TestSupport
import Testing

let hour: Int64 = 3_600_000
let day: Int64 = 24 * hour
let t0: Int64 = 1_751_364_000_000  // 2025-07-01T10:00:00Z

func inbound(_ id: String, _ at: Int64, business: String = "b", customer: String = "c", entry: Bool = false) -> Event {
    .message(Message(id: id, business: business, customer: customer, direction: .inbound, at: at,
                     entryPoint: entry ? EntryPoint(source: "ad", id: "1") : nil))
}

func outbound(_ id: String, _ at: Int64, business: String = "b", customer: String = "c", template: TemplateCategory? = nil) -> Event {
    .message(Message(id: id, business: business, customer: customer, direction: .outbound, at: at,
                     kind: template == nil ? "text" : "template", category: template))
}

func control(_ action: ControlAction, _ at: Int64, by actor: Actor = .customer, business: String = "b", customer: String = "c") -> Event {
    .control(Control(business: business, customer: customer, actor: actor, action: action, at: at))
}

/// Opens a store in a fresh temporary directory for the body; afterwards `check` must pass on it.
func withStore<T>(_ settings: StoreSettings? = nil, _ body: (ConvoStore) throws -> T) throws -> T {
    try withTemporaryDirectory { dir in
        let store = try ConvoStore.open(at: dir + "/store", settings: settings)
        defer { store.close() }
        let result = try body(store)
        try expectHealthy(store)
        return result
    }
}

/// Opens a store in a fresh temporary directory for the body; afterwards `check` must pass on it.
func withStore<T>(_ body: (ConvoStore) async throws -> T) async throws -> T {
    try await withTemporaryDirectory { dir in
        let store = try ConvoStore.open(at: dir + "/store")
        defer { store.close() }
        let result = try await body(store)
        try expectHealthy(store)
        return result
    }
}

func expectHealthy(_ store: ConvoStore, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let report = try store.check()
    #expect(report.isHealthy, "check: \(report.problems.prefix(5))", sourceLocation: sourceLocation)
}

extension ConvoStore {
    func state(_ at: Int64, business: String = "b", customer: String = "c") throws -> ConversationState {
        guard let s = try self.conversation(business: business, customer: customer, at: at) else {
            throw ConvoStoreError.invalidField(field: "conversation", reason: "missing")
        }
        return s
    }

    func outcome(of id: String, business: String = "b", customer: String = "c") throws -> SendOutcome? {
        try self.history(business: business, customer: customer, limit: 1000).first { $0.message.id == id }?.outcome
    }
}

/// A log handler that keeps everything, at every level, in a ``LogSink`` (from TestSupport, which
/// cannot hold this adapter: it depends on nothing, and `Logging` comes with ConvoStore).
struct CapturingLogHandler: LogHandler {
    let sink: LogSink
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { self.metadata[key] }
        set { self.metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        self.sink.append("\(event.level) \(event.message) \(event.metadata ?? [:]) \(self.metadata) \(event.error.map { "\($0)" } ?? "")")
    }
}
