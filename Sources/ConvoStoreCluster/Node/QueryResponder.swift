import ConvoStore
import Foundation

/// Answers one partition's queries from its store, in the single-store commands' JSON (``OutputJSON``),
/// on one snapshot, in chunks the requester reassembles.
struct QueryResponder: Sendable {
    let partition: Int
    let node: String
    let store: ConvoStore
    let log: String
    /// The stream's last sequence, for `status` (read by the caller, outside the snapshot).
    let streamLastSequence: @Sendable () -> UInt64

    /// The chunks of the answer to a request's payload. While the node is `catchingUp` (why), only
    /// `status` is answered; other questions are answered ``notReady(node:_:)``.
    func answer(_ request: [UInt8], catchingUp: String? = nil) -> [[UInt8]] {
        do {
            let query = try JSONDecoder().decode(PartitionQuery.self, from: Data(request))
            if let catchingUp, query != .status { return Self.notReady(node: self.node, catchingUp) }
            var tiered: Bool?
            var lines: [String] = []
            let position: UInt64 = try self.store.read { reader in
                let position = try reader.logPosition(of: self.log) ?? 0
                switch query {
                case .overdue(let asOf, let business, let limit):
                    try Self.collect(limit, into: &lines) { body in try reader.forEachOverdue(asOf: asOf, business: business) { try body(OutputJSON.waiting($0)) } }
                case .newlyOverdue(let after, let until, let limit):
                    try Self.collect(limit, into: &lines) { body in try reader.forEachNewlyOverdue(after: after, until: until) { try body(OutputJSON.waiting($0)) } }
                case .windows(let from, let to, let business, let limit):
                    try Self.collect(limit, into: &lines) { body in try reader.forEachWindowClosing(from: from, to: to, business: business) { try body(OutputJSON.window($0)) } }
                case .billing, .status:
                    break
                }
                return position
            }
            switch query {
            case .billing(let business, let from, let to):
                lines = [OutputJSON.billing(try self.store.billing(business: business, from: from, to: to))]
                tiered = try self.store.rateCard().contains { $0.rows.contains { $0.tierFrom > 1 } }
            case .status:
                let statistics = try self.store.statistics()
                let status = PartitionStatus(partition: self.partition, node: self.node, position: position,
                                             streamLastSequence: self.streamLastSequence(),
                                             messages: statistics.messages, conversations: statistics.conversations)
                lines = [String(decoding: try JSONEncoder().encode(status), as: UTF8.self)]
            default:
                break
            }
            return Self.chunks(lines, head: AnswerHead(node: self.node, position: position, last: false, tiered: tiered))
        } catch {
            return Self.chunks([], head: AnswerHead(node: self.node, position: 0, last: false, error: "\(error)"))
        }
    }

    /// The answer of a node that may not answer for the partition now (why): the client asks again.
    static func notReady(node: String, _ why: String) -> [[UInt8]] {
        Self.chunks([], head: AnswerHead(node: node, position: 0, last: false, error: why, moved: true))
    }

    /// Runs a scan, keeping at most `limit` lines.
    private static func collect(_ limit: Int?, into lines: inout [String], _ scan: ((String) throws -> Bool) throws -> Void) throws {
        let limit = limit ?? .max
        guard limit > 0 else { return }
        try scan { line in
            lines.append(line)
            return lines.count < limit
        }
    }

    /// Splits lines into chunks of at most ``AnswerHead/maxChunkBytes``, each starting with its head line.
    static func chunks(_ lines: [String], head: AnswerHead) -> [[UInt8]] {
        var chunks: [[String]] = [[]]
        var size = 0
        for line in lines {
            if size + line.utf8.count + 1 > AnswerHead.maxChunkBytes && !chunks[chunks.count - 1].isEmpty {
                chunks.append([])
                size = 0
            }
            chunks[chunks.count - 1].append(line)
            size += line.utf8.count + 1
        }
        let encoder = JSONEncoder()
        return chunks.enumerated().map { index, body in
            var h = head
            h.last = index == chunks.count - 1
            let headLine = (try? encoder.encode(h)).map { String(decoding: $0, as: UTF8.self) } ?? #"{"error":"cannot encode the answer"}"#
            return Array(([headLine] + body).joined(separator: "\n").utf8)
        }
    }
}
