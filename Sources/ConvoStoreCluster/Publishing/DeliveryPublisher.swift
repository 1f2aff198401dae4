import Dispatch
import Synchronization

/// What publishing one webhook delivery did.
public enum DeliveryOutcome: Sendable, Hashable {
    /// JetStream acknowledged it on every partition it touches (`duplicate`: every one of them already had it).
    case published(partitions: Int, duplicate: Bool)
    /// It carries nothing the store records.
    case skipped
    /// It cannot be parsed or routed; the reason.
    case rejected(String)
}

/// The server's publishing mode (`convostore serve --publish-nats`): a signed webhook delivery is routed
/// as ``LineRouter`` routes an archive line and published to each partition it touches, and the call
/// returns only once JetStream acknowledged every publish (a quorum of each stream's servers holds it).
/// Its message id is a hash of the delivery's bytes, so the platform delivering it again adds nothing.
public final class DeliveryPublisher: Sendable {
    private let js: JetStream
    private let router: Mutex<LineRouter>

    /// Connects to the cluster on `urls` and reads its configuration.
    public init(urls: [String]) throws {
        self.js = try NATSConnection(urls: urls, name: "convostore-serve").jetStream()
        self.router = Mutex(LineRouter(partitioner: try ClusterSetup.read(from: self.js).partitioner))
    }

    /// Publishes one delivery's body and waits for JetStream's acknowledgements.
    public func publish(_ body: [UInt8]) async throws -> DeliveryOutcome {
        let decision = self.router.withLock { $0.route(body, format: .webhook, lineNumber: 0) }
        let targets: [RoutedPublish]
        switch decision {
        case .skip: return .skipped
        case .reject(let reason): return .rejected(reason)
        case .publish(let routed): targets = routed
        }
        // The C client's publish blocks until the acknowledgement: on a dispatch thread, not on the
        // concurrency pool, whose few threads must keep serving requests meanwhile.
        let js = self.js
        let duplicates = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Int, any Error>) in
            DispatchQueue.global().async {
                do {
                    var duplicates = 0
                    for target in targets {
                        let headers = target.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
                        if try js.publish(ClusterLayout.subject(target.partition), body, msgID: "wh." + target.msgID, headers: headers).duplicate { duplicates += 1 }
                    }
                    continuation.resume(returning: duplicates)
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
        return .published(partitions: targets.count, duplicate: duplicates == targets.count)
    }
}
