import Foundation
import LMDB
import Logging

/// The one writer thread: it takes every request waiting, runs them in one write transaction, commits
/// once, and only then resumes their callers (group commit). No `await` happens inside a transaction,
/// and the transaction begins and commits on the same thread, as LMDB requires.
final class GroupCommitWriter: @unchecked Sendable {
    // @unchecked: `queue`, `stopping` and `thread` are only touched under `condition`.
    private let condition = NSCondition()
    private var queue: [Job] = []
    private var stopping = false
    private var stopped = false
    private let maxEventsPerCommit: Int
    private let logger: Logger
    private var thread: Thread?
    /// Continuous retention (R9): the store whose history the thread purges between commits, and
    /// how far back it keeps. Weak: the store owns the writer.
    private weak var retainedStore: ConvoStore?
    private var retentionMillis: Int64?
    private var clock: @Sendable () -> Int64 = { 0 }
    private var nextRetentionStep = 0.0
    /// The horizon the last retention step wrote.
    private var retentionHorizon: Int64 = .min
    /// Conversations one retention step purges at most, so that no commit waits long behind it.
    static let retentionStepConversations = 256
    /// How far the horizon may lag behind now minus the retention when there is nothing to purge:
    /// an idle store commits it once a minute, not once a second.
    static let horizonLagMillis: Int64 = 60_000

    /// A request: `run` executes inside the transaction and keeps its result; `complete` resumes the caller.
    private struct Job {
        let weight: Int
        /// Runs the request; `false` if it threw (its error is kept for its caller).
        let run: (StoreWriter) -> Bool
        let complete: ((any Error)?) -> Void
        let store: ConvoStore
    }

    init(maxEventsPerCommit: Int, logger: Logger) {
        self.maxEventsPerCommit = maxEventsPerCommit
        self.logger = logger
    }

    /// Starts purging what falls before now minus `millis`, in small steps between commits and
    /// about once a second while idle (``ConvoStore/setRetention(_:)``); `nil` stops it.
    func keepOnly(_ millis: Int64?, clock: @escaping @Sendable () -> Int64, of store: ConvoStore) {
        self.condition.lock()
        self.retainedStore = store
        self.retentionMillis = millis
        self.clock = clock
        self.nextRetentionStep = 0
        if millis != nil { self.startThreadIfNeeded() }
        self.condition.signal()
        self.condition.unlock()
    }

    /// Starts the writer thread; call with `condition` held.
    private func startThreadIfNeeded() {
        guard self.thread == nil, !self.stopping else { return }
        let thread = Thread { [self] in self.loop() }
        thread.name = "convostore-writer"
        self.thread = thread
        thread.start()
    }

    func submit<T: Sendable>(store: ConvoStore, weight: Int, _ body: @escaping @Sendable (StoreWriter) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let box = ResultBox<T>()
            let job = Job(
                weight: max(1, weight),
                run: { writer in
                    box.result = Result { try body(writer) }
                    if case .failure = box.result { return false }
                    return true
                },
                complete: { commitError in
                    if let commitError {
                        continuation.resume(throwing: commitError)
                    } else if let result = box.result {
                        continuation.resume(with: result)
                    } else {
                        continuation.resume(throwing: ConvoStoreError.closed)
                    }
                },
                store: store)
            self.condition.lock()
            if self.stopping {
                self.condition.unlock()
                continuation.resume(throwing: ConvoStoreError.closed)
                return
            }
            self.queue.append(job)
            self.startThreadIfNeeded()
            self.condition.signal()
            self.condition.unlock()
        }
    }

    func stop() {
        self.condition.lock()
        self.stopping = true
        self.condition.broadcast()
        while self.thread != nil && !self.stopped { self.condition.wait() }
        self.condition.unlock()
    }

    private func loop() {
        while true {
            self.condition.lock()
            while self.queue.isEmpty && !self.stopping {
                if self.retentionMillis == nil {
                    self.condition.wait()
                } else {
                    // Retention runs while idle too: wake up for its next step.
                    let wait = max(0, self.nextRetentionStep - DumpImporter.now())
                    if wait == 0 { break }
                    _ = self.condition.wait(until: Date(timeIntervalSinceNow: wait))
                }
            }
            if self.queue.isEmpty && self.stopping {
                self.stopped = true
                self.condition.broadcast()
                self.condition.unlock()
                return
            }
            if self.queue.isEmpty {
                self.condition.unlock()
                self.retentionStep()
                continue
            }
            // Take as many waiting requests as fit in one commit.
            var taken = 0
            var weight = 0
            while taken < self.queue.count, taken == 0 || weight + self.queue[taken].weight <= self.maxEventsPerCommit {
                weight += self.queue[taken].weight
                taken += 1
            }
            let batch = Array(self.queue.prefix(taken))
            self.queue.removeFirst(taken)  // once per batch: a deep queue costs O(n), not O(n) per request
            let waiting = self.queue.count
            self.condition.unlock()
            StoreMetrics.shared.groupCommitBatch(requests: batch.count, events: weight, waiting: waiting)
            self.commit(batch)
            if self.retentionIsDue() { self.retentionStep() }
        }
    }

    /// One step of continuous retention: a purge before now minus the retention of at most
    /// ``retentionStepConversations`` conversations, in a commit of its own. An incomplete step
    /// calls for the next one after the next commit; a complete one, in a second. With nothing to
    /// purge, the horizon is only moved once it lags a minute behind (no commit every second).
    private func retentionStep() {
        // The settings are read under the lock: `keepOnly` may change them from any thread.
        self.condition.lock()
        let store = self.retainedStore, millis = self.retentionMillis, clock = self.clock
        self.condition.unlock()
        guard let store, let millis else { return }
        let horizon = clock() - millis
        do {
            let lag = horizon.subtractingReportingOverflow(self.retentionHorizon)
            if !lag.overflow, lag.partialValue < Self.horizonLagMillis, try !store.hasHistory(before: horizon) {
                self.scheduleRetention(after: 1)
                return
            }
            let summary = try store.write { writer in
                try writer.recorder.purge(before: horizon, business: nil, limit: Self.retentionStepConversations)
            }
            self.retentionHorizon = summary.horizon
            self.scheduleRetention(after: summary.incomplete ? 0 : 1)
        } catch {
            self.logger.error("retention step failed", metadata: ["horizon": "\(horizon)", "error": "\(error)"])
            self.scheduleRetention(after: 10)
        }
    }

    /// Whether retention is on and its next step is due.
    private func retentionIsDue() -> Bool {
        self.condition.lock()
        defer { self.condition.unlock() }
        return self.retentionMillis != nil && DumpImporter.now() >= self.nextRetentionStep
    }

    private func scheduleRetention(after seconds: Double) {
        self.condition.lock()
        self.nextRetentionStep = DumpImporter.now() + seconds
        self.condition.unlock()
    }

    private func commit(_ batch: [Job]) {
        guard let store = batch.first?.store else { return }
        do {
            try store.write { writer in
                for job in batch {
                    // A request that failed may have written part of its work: roll the whole
                    // batch back and run each request in a commit of its own.
                    if !job.run(writer) { throw RequestFailed() }
                }
            }
            for job in batch { job.complete(nil) }
        } catch is RequestFailed where batch.count > 1 {
            for job in batch { self.commit([job]) }
        } catch is RequestFailed {
            // A lone request that failed: its own error goes back to its caller, nothing was written.
            batch[0].complete(nil)
        } catch {
            self.logger.error("group commit failed", metadata: ["requests": "\(batch.count)", "error": "\(error)"])
            for job in batch { job.complete(error) }
        }
    }

    private struct RequestFailed: Error {}
}

/// Holds one request's result between the transaction and the caller's resumption.
private final class ResultBox<T>: @unchecked Sendable {
    // @unchecked: written on the writer thread before `complete`, read in `complete` on the same thread.
    var result: Result<T, any Error>?
}
