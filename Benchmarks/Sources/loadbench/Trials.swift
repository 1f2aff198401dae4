import Foundation

/// The figures of several trials of one engine, combined figure by figure: the median, the minimum
/// and the maximum of every number (each percentile of a latency summary on its own), except the live
/// phase's duration, which is the shortest trial's (how long the figures were measured for, at least).
enum TrialStatistics {
    enum Pick {
        case median, minimum, maximum
    }

    /// Combines the trials' results (at least one); the per-trial histograms are left out.
    static func combine(_ results: [EngineResult], _ pick: Pick) throws -> EngineResult {
        precondition(!results.isEmpty)
        let encoder = JSONEncoder()
        let objects = try results.map { result -> Any in
            var stripped = result
            stripped.commitRecorded = nil
            stripped.sendCheckRecorded = nil
            return try JSONSerialization.jsonObject(with: encoder.encode(stripped))
        }
        let combined = Self.combine(objects, pick, key: nil)
        let data = try JSONSerialization.data(withJSONObject: combined)
        return try JSONDecoder().decode(EngineResult.self, from: data)
    }

    /// The shortest trial sets these, whatever `pick`.
    private static let shortest: Set<String> = ["liveSeconds", "writeSeconds"]

    private static func combine(_ values: [Any], _ pick: Pick, key: String?) -> Any {
        if let dictionaries = values as? [[String: Any]] {
            var out: [String: Any] = [:]
            for (name, first) in dictionaries[0] {
                let all = dictionaries.compactMap { $0[name] }
                out[name] = all.count == dictionaries.count ? Self.combine(all, pick, key: name) : first
            }
            return out
        }
        if let arrays = values as? [[Any]], let count = arrays.first?.count, arrays.allSatisfy({ $0.count == count }) {
            return (0..<count).map { index in Self.combine(arrays.map { $0[index] }, pick, key: nil) }
        }
        let numbers = values.compactMap(Self.number)
        if numbers.count == values.count {
            let doubles = numbers.sorted()
            let value: Double
            if let key, Self.shortest.contains(key) {
                value = doubles[0]
            } else {
                switch pick {
                case .minimum: value = doubles[0]
                case .maximum: value = doubles[doubles.count - 1]
                case .median: value = Self.median(doubles)
                }
            }
            // Integer figures (counts, bytes) stay integers.
            if doubles.allSatisfy({ $0 == $0.rounded() }) { return NSNumber(value: Int64(value.rounded())) }
            return NSNumber(value: value)
        }
        return values[0]
    }

    /// A number of the JSON object (not a Bool), as a Double.
    private static func number(_ value: Any) -> Double? {
        if value is Bool { return nil }
        if let int = value as? Int { return Double(int) }
        if let int = value as? Int64 { return Double(int) }
        if let double = value as? Double { return double }
        if let number = value as? NSNumber { return number.doubleValue }
        return nil
    }

    static func median(_ sorted: [Double]) -> Double {
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
