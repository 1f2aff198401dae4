// The rate card's CSV (docs/contract.md, "Rate card (CSV)"): a header, then one row per rate. A file
// is checked whole; any bad row rejects it with `file:line: reason`, and nothing changes.

/// Why a rate card file was refused: every bad row, as `file:line: reason`.
public struct RateCardError: Error, Hashable, Sendable, CustomStringConvertible {
    /// One `file:line: reason` per problem, in file order.
    public var problems: [String]
    /// The problems, one per line.
    public var description: String { self.problems.joined(separator: "\n") }
}

enum RateCardCSV {
    static let header = "effective_from,market,category,tier_from,rate_micros"

    /// Parses a whole card; `name` is the file's name in the problems.
    static func parse(_ text: String, name: String) throws(RateCardError) -> [RateCardVersion] {
        var problems: [(line: Int, text: String)] = []
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
            line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
        }
        if lines.last == "" { lines.removeLast() }
        if let first = lines.first, first.hasPrefix("\u{FEFF}") { lines[0] = String(first.dropFirst()) }
        guard let head = lines.first else { throw RateCardError(problems: ["\(name):1: empty file: expected the header \(Self.header)"]) }
        if head.trimmingSpaces != Self.header {
            problems.append((1, "\(name):1: header \(Display.quoted(head)): expected \(Self.header)"))
        }
        var rowsByVersion: [Int64: [RateRow]] = [:]
        var seen: [String: Int] = [:]
        var baseRows = Set<String>()
        var groups: [String: (line: Int, versionText: String)] = [:]
        for (index, line) in lines.enumerated().dropFirst() {
            let number = index + 1
            func problem(_ reason: String) { problems.append((number, "\(name):\(number): \(reason)")) }
            if line.trimmingSpaces.isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
            guard fields.count == 5 else {
                problem("\(fields.count) fields, expected 5 (effective_from,market,category,tier_from,rate_micros)")
                continue
            }
            guard let effectiveFrom = Self.parseEffectiveFrom(fields[0]) else {
                problem("effective_from: \(Display.quoted(fields[0])) is not an RFC 3339 date (2026-07-01) or time between 1970 and 9999")
                continue
            }
            let market = fields[1]
            guard Markets.isMarket(market) else {
                problem("market: \(Display.quoted(market)) is not a market of R7 (an ISO code such as IN, or north_america, rest_of_latin_america, ..., other)")
                continue
            }
            guard let category = ChargeCategory(name: fields[2]) else {
                problem("category: \(Display.quoted(fields[2])) is not marketing, utility, authentication or service")
                continue
            }
            guard let tierFrom = Int64(fields[3]), tierFrom >= 1 else {
                problem("tier_from: \(Display.quoted(fields[3])) is not an integer of at least 1")
                continue
            }
            if tierFrom > 1 && !category.isTiered {
                problem("tier_from: \(tierFrom): only utility and authentication have volume tiers; \(category.name) has only tier_from 1")
                continue
            }
            guard let rate = Int64(fields[4]), rate >= 0 else {
                problem("rate_micros: \(Display.quoted(fields[4])) is not a non-negative integer (micro-units)")
                continue
            }
            let rowKey = "\(effectiveFrom) \(market) \(category.name) \(tierFrom)"
            if let earlier = seen[rowKey] {
                problem("repeats line \(earlier) (the same effective_from, market, category and tier_from)")
                continue
            }
            seen[rowKey] = number
            let groupKey = "\(effectiveFrom) \(market) \(category.name)"
            if groups[groupKey] == nil { groups[groupKey] = (number, fields[0]) }
            if tierFrom == 1 { baseRows.insert(groupKey) }
            rowsByVersion[effectiveFrom, default: []].append(RateRow(market: market, category: category, tierFrom: tierFrom, rateMicros: rate))
        }
        for (group, first) in groups.sorted(by: { $0.value.line < $1.value.line }) where !baseRows.contains(group) {
            let parts = group.split(separator: " ")
            problems.append((first.line, "\(name):\(first.line): \(parts[1]) \(parts[2]) from \(first.versionText) has no base row (tier_from 1)"))
        }
        if rowsByVersion.isEmpty && problems.isEmpty { problems.append((2, "\(name):2: no rows: a card needs at least one rate")) }
        guard problems.isEmpty else {
            let ordered = problems.enumerated().sorted { ($0.element.line, $0.offset) < ($1.element.line, $1.offset) }
            throw RateCardError(problems: ordered.map(\.element.text))
        }
        return rowsByVersion.keys.sorted().map { RateCardVersion(effectiveFrom: $0, rows: rowsByVersion[$0]!) }
    }

    /// An RFC 3339 date (midnight UTC) or date-time, in the store's range of times.
    static func parseEffectiveFrom(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        let candidate = bytes.count == 10 ? text + "T00:00:00Z" : text
        guard let ms = Timestamp.parseRFC3339(candidate), Limits.times.contains(ms) else { return nil }
        return ms
    }

    /// The card as CSV, for `rates show` without `--json`.
    static func text(_ versions: [RateCardVersion]) -> String {
        var out = Self.header + "\n"
        for version in versions {
            let date = Timestamp.format(version.effectiveFrom)
            for row in version.rows { out += "\(date),\(row.market),\(row.category.name),\(row.tierFrom),\(row.rateMicros)\n" }
        }
        return out
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}
