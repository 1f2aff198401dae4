import Foundation

/// The k-way merge of partitions' scan answers (each in the contract's order) into one list in that
/// order: (time, business, customer), ids compared bytewise as the store's keys are.
enum WaitingMerge {
    /// The sort fields of a line.
    private struct Key: Decodable {
        var business: String
        var customer: String
        var reply_due_at: Int64?
        var window_expires_at: Int64?
    }

    private struct Head {
        var time: Int64
        var business: [UInt8]
        var customer: [UInt8]

        static func < (a: Head, b: Head) -> Bool {
            if a.time != b.time { return a.time < b.time }
            if a.business != b.business { return a.business.lexicographicallyPrecedes(b.business) }
            return a.customer.lexicographicallyPrecedes(b.customer)
        }
    }

    /// Merges `answers` ordered by `key` (`reply_due_at` or `window_expires_at`), keeping at most `limit`.
    static func merge(_ answers: [[String]], key: String, limit: Int?) throws -> [String] {
        let decoder = JSONDecoder()
        func head(_ line: String) throws -> Head {
            let k = try decoder.decode(Key.self, from: Data(line.utf8))
            guard let time = key == "reply_due_at" ? k.reply_due_at : k.window_expires_at else {
                throw ClusterError.invalid("an answer line without \(key): \(line.prefix(200))")
            }
            return Head(time: time, business: Array(k.business.utf8), customer: Array(k.customer.utf8))
        }
        let limit = limit ?? .max
        var cursors = [Int](repeating: 0, count: answers.count)
        var heads: [Head?] = try answers.map { try $0.first.map(head) }
        var merged: [String] = []
        // P is small (tens to thousands): picking the least head by a scan costs O(P) per line, and
        // keeps the merge obviously right.
        while merged.count < limit {
            var best: Int?
            for i in heads.indices {
                guard let h = heads[i] else { continue }
                if let b = best, !(h < heads[b]!) { continue }
                best = i
            }
            guard let i = best else { break }
            merged.append(answers[i][cursors[i]])
            cursors[i] += 1
            heads[i] = cursors[i] < answers[i].count ? try head(answers[i][cursors[i]]) : nil
        }
        return merged
    }
}
