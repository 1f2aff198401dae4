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
            if self.thread == nil {
                let thread = Thread { [self] in self.loop() }
                thread.name = "convostore-writer"
                self.thread = thread
                thread.start()
            }
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
            while self.queue.isEmpty && !self.stopping { self.condition.wait() }
            if self.queue.isEmpty && self.stopping {
                self.stopped = true
                self.condition.broadcast()
                self.condition.unlock()
                return
            }
            // Take as many waiting requests as fit in one commit.
            var batch: [Job] = []
            var weight = 0
            while let next = self.queue.first, batch.isEmpty || weight + next.weight <= self.maxEventsPerCommit {
                batch.append(self.queue.removeFirst())
                weight += next.weight
            }
            let waiting = self.queue.count
            self.condition.unlock()
            StoreMetrics.shared.groupCommitBatch(requests: batch.count, events: weight, waiting: waiting)
            self.commit(batch)
        }
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
