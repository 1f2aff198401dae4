// R7's market of a customer id (docs/pricing.md, "Markets"). The table in MarketTable.swift is parsed
// once into direct-address arrays. The lookup runs on every outbound message, so it neither hashes
// nor allocates.

/// A pricing market of R7. It is a single country, named by its ISO 3166-1 alpha-2 code (`IN`), or a
/// group: `north_america`, `rest_of_latin_america`, `rest_of_western_europe`,
/// `rest_of_central_eastern_europe`, `rest_of_africa`, `rest_of_asia_pacific`, `rest_of_middle_east`,
/// or ``other``.
public struct Market: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The market's name as rate cards spell it: `IN`, `north_america`, `other`.
    public let name: String

    /// The market of every customer id that the table does not place.
    public static let other = Market(name: "other")

    /// The market's name.
    public var description: String { self.name }

    /// Markets sort by name. The names are ASCII, so this is bytewise order.
    public static func < (lhs: Market, rhs: Market) -> Bool { lhs.name < rhs.name }
}

/// The markets of R7, and the market of a customer id, from the table in `MarketTable.swift`.
public enum Markets {
    /// The market of customer `id`:
    /// - a phone number (ASCII digits only, E.164 without `+`) takes the market of the longest calling
    ///   code in the table that prefixes it;
    /// - a business-scoped user id (`CC.digits`: two upper-case ASCII letters, a dot, one or more
    ///   ASCII digits) takes the market of country `CC`;
    /// - anything else, and a code or a country that is in no row, is ``Market/other``.
    ///
    /// One pass over the id's bytes with at most four array reads, and no allocation: this runs on every
    /// outbound message.
    public static func market(ofCustomer id: String) -> Market {
        let table = Self.table
        var id = id
        // `withUTF8` copies only a string that is not contiguous UTF-8 already; a native Swift string is.
        let slot = id.withUTF8 { table.slot(ofCustomer: $0) }
        return slot == MarketIndex.noRow ? .other : table.markets[Int(slot)]
    }

    /// Every market name: each market of the table, and `other`. A rate card's `market` must be one of them.
    public static let names: Set<String> = Set(Self.table.markets.map(\.name))

    /// Whether `name` is a market, that is, one of ``names``. Names are case-sensitive: `IN` is, `in` is not.
    public static func isMarket(_ name: String) -> Bool { Self.names.contains(name) }

    /// The parsed table. A `static let` is initialised once, lazily and thread-safely.
    static let table = MarketIndex(parsing: MarketTable.text)
}

/// The market table as direct-address arrays. Each slot holds an index into ``markets``, or ``noRow``.
struct MarketIndex: Sendable {
    /// A slot with no row.
    static let noRow = UInt8.max

    /// The groups a row may name besides a single country's own ISO code.
    static let groups: Set<String> = [
        "north_america", "rest_of_africa", "rest_of_asia_pacific", "rest_of_central_eastern_europe",
        "rest_of_latin_america", "rest_of_middle_east", "rest_of_western_europe", "other",
    ]

    /// Every market of the table, with `other` always at index 0.
    let markets: [Market]
    /// The slot of a calling code of n digits whose value is v is at `offset(ofLength: n) + v`.
    /// That is 10 + 100 + 1,000 + 10,000 slots in all.
    let byCallingCode: [UInt8]
    /// The slot of country `CC` is at `(C0 - "A") * 26 + (C1 - "A")`.
    let byCountry: [UInt8]

    /// Parses `text`, the rows of the market table. A malformed row, a calling code given twice, or a
    /// country given two markets stops the program with the row: the table is data compiled into the
    /// library, and the tests read every row.
    init(parsing text: String) {
        var markets = [Market.other]
        var slotOfName = ["other": UInt8(0)]
        var byCallingCode = [UInt8](repeating: Self.noRow, count: 11_110)
        var byCountry = [UInt8](repeating: Self.noRow, count: 26 * 26)
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let row = "market table row \(number + 1) (\(line.debugDescription))"
            let fields = line.split(separator: "\t", omittingEmptySubsequences: false)
            precondition(fields.count == 3, "\(row): expected calling_code<TAB>iso_alpha2<TAB>market")
            let (code, iso, name) = (fields[0].utf8, fields[1].utf8, String(fields[2]))
            precondition((1...4).contains(code.count) && code.allSatisfy(Self.isDigit), "\(row): the calling code must be 1 to 4 digits")
            precondition(iso.count == 2 && iso.allSatisfy(Self.isUpper), "\(row): the country must be two upper-case letters")
            precondition(Self.groups.contains(name) || name == String(fields[1]), "\(row): the market must be the row's country or a group")

            let slot: UInt8
            if let known = slotOfName[name] {
                slot = known
            } else {
                precondition(markets.count < Int(Self.noRow), "\(row): more markets than a slot holds")
                slot = UInt8(markets.count)
                slotOfName[name] = slot
                markets.append(Market(name: name))
            }

            let codeIndex = Self.index(ofDigits: code)
            precondition(byCallingCode[codeIndex] == Self.noRow, "\(row): the calling code appears twice")
            byCallingCode[codeIndex] = slot

            let letters = Array(iso)
            let countryIndex = Self.index(ofCountry: letters[0], letters[1])
            precondition(byCountry[countryIndex] == Self.noRow || byCountry[countryIndex] == slot, "\(row): the country already has another market")
            byCountry[countryIndex] = slot
        }
        self.markets = markets
        self.byCallingCode = byCallingCode
        self.byCountry = byCountry
    }

    /// The slot of customer id `bytes` (its UTF-8), by the rules of ``Markets/market(ofCustomer:)``.
    /// The two forms (docs/pricing.md, "Markets") are checked in the same pass that reads the prefix.
    func slot(ofCustomer bytes: UnsafeBufferPointer<UInt8>) -> UInt8 {
        guard let first = bytes.first else { return Self.noRow }
        if Self.isDigit(first) {
            // A phone number. Prefixes of 1 to 4 digits are read in order and a longer match replaces
            // a shorter one. The remaining digits are only checked to be digits.
            var found = Self.noRow
            var value = 0
            for (position, byte) in bytes.enumerated() {
                guard Self.isDigit(byte) else { return Self.noRow }
                guard position < 4 else { continue }
                value = value * 10 + Int(byte &- UInt8(ascii: "0"))
                let slot = self.byCallingCode[Self.offset(ofLength: position + 1) + value]
                if slot != Self.noRow { found = slot }
            }
            return found
        }
        // A business-scoped user id: `CC.` and one or more digits.
        guard bytes.count >= 4, Self.isUpper(bytes[0]), Self.isUpper(bytes[1]), bytes[2] == UInt8(ascii: "."),
              bytes[3...].allSatisfy(Self.isDigit)
        else { return Self.noRow }
        return self.byCountry[Self.index(ofCountry: bytes[0], bytes[1])]
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "0") < 10 }
    private static func isUpper(_ byte: UInt8) -> Bool { byte &- UInt8(ascii: "A") < 26 }

    /// Where the codes of `length` digits (1 to 4) start in ``byCallingCode``.
    private static func offset(ofLength length: Int) -> Int {
        switch length {
        case 1: 0
        case 2: 10
        case 3: 110
        default: 1_110
        }
    }

    private static func index<Digits: Collection<UInt8>>(ofDigits digits: Digits) -> Int {
        Self.offset(ofLength: digits.count) + digits.reduce(0) { $0 * 10 + Int($1 &- UInt8(ascii: "0")) }
    }

    private static func index(ofCountry first: UInt8, _ second: UInt8) -> Int {
        Int(first &- UInt8(ascii: "A")) * 26 + Int(second &- UInt8(ascii: "A"))
    }
}
