import Foundation

/// A bounded blocking queue between the parser thread and the writer.
final class BatchQueue<Element>: @unchecked Sendable {
    // @unchecked: every field is touched only under `condition`.
    enum Item {
        case batch([Element])
        case end
        case failed(any Error)
    }

    private let condition = NSCondition()
    private var items: [Item] = []
    private var cancelled = false
    private var producerDone = false
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    /// Waits for room; `false` if the consumer cancelled.
    func put(_ item: Item) -> Bool {
        self.condition.lock()
        defer { self.condition.unlock() }
        while self.items.count >= self.capacity && !self.cancelled { self.condition.wait() }
        guard !self.cancelled else { return false }
        self.items.append(item)
        self.condition.broadcast()
        return true
    }

    func take() -> Item {
        self.condition.lock()
        defer { self.condition.unlock() }
        while self.items.isEmpty { self.condition.wait() }
        let item = self.items.removeFirst()
        self.condition.broadcast()
        return item
    }

    func cancel() {
        self.condition.lock()
        self.cancelled = true
        self.condition.broadcast()
        self.condition.unlock()
    }

    /// The producer calls this as it leaves.
    func markProducerDone() {
        self.condition.lock()
        self.producerDone = true
        self.condition.broadcast()
        self.condition.unlock()
    }

    /// Cancels and waits until the producer has left (it stops at its next `put`).
    func stopProducer() {
        self.cancel()
        self.condition.lock()
        while !self.producerDone { self.condition.wait() }
        self.condition.unlock()
    }
}

