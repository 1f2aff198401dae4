import ConvoStore
import Foundation
import Testing

// R7's market of a customer id, through the public API. The table checks below read
// MarketTable.swift the way the Python model does, between its marker lines, and compare every row
// with the lookup.

/// One phone number for each market of the table, and for `other`.
private let representatives: [(id: String, market: String)] = [
    ("5491123456789", "AR"), ("5511987654321", "BR"), ("56912345678", "CL"), ("573001234567", "CO"),
    ("201001234567", "EG"), ("33612345678", "FR"), ("4915112345678", "DE"), ("919876543210", "IN"),
    ("6281234567890", "ID"), ("972501234567", "IL"), ("393123456789", "IT"), ("60123456789", "MY"),
    ("5215512345678", "MX"), ("31612345678", "NL"), ("2348031234567", "NG"), ("923001234567", "PK"),
    ("51912345678", "PE"), ("79161234567", "RU"), ("966501234567", "SA"), ("27821234567", "ZA"),
    ("34612345678", "ES"), ("905321234567", "TR"), ("971501234567", "AE"), ("447911123456", "GB"),
    // Their own markets from 2026-07-01.
    ("85291234567", "HK"), ("36201234567", "HU"), ("48501234567", "PL"), ("97433123456", "QA"),
    ("40721234567", "RO"), ("6591234567", "SG"),
    // Their own markets from 2026-10-01.
    ("8801712345678", "BD"), ("9647701234567", "IQ"), ("77011234567", "KZ"), ("96550012345", "KW"),
    ("212612345678", "MA"), ("9779841234567", "NP"), ("96891234567", "OM"), ("94771234567", "LK"),
    ("380501234567", "UA"),
    // Groups.
    ("14155550000", "north_america"), ("254712345678", "rest_of_africa"), ("61412345678", "rest_of_asia_pacific"),
    ("420601123456", "rest_of_central_eastern_europe"), ("593991234567", "rest_of_latin_america"),
    ("962791234567", "rest_of_middle_east"), ("351912345678", "rest_of_western_europe"),
    // South Korea is in none of the platform's lists.
    ("821012345678", "other"),
]

private func market(_ id: String) -> String { Markets.market(ofCustomer: id).name }

@Suite struct MarketOfACustomer {
    @Test func everyMarketHasARepresentative() {
        for (id, expected) in representatives {
            #expect(market(id) == expected, "\(id)")
        }
        // Every market, and nothing else, is represented: a market added to the table needs a line here.
        #expect(Set(representatives.map(\.market)) == Markets.names)
    }

    @Test func northAmericanNumbersSplitByAreaCode() {
        #expect(market("14155550000") == "north_america")  // US
        #expect(market("12895550000") == "north_america")  // Canada
        #expect(market("16045550000") == "north_america")  // Canada
        #expect(market("18005550000") == "north_america")  // toll-free
        #expect(market("13405550000") == "north_america")  // US Virgin Islands
        #expect(market("16715550000") == "north_america")  // Guam
        for id in ["18095551234", "18295551234", "18495551234", "18765551234", "16585551234", "17875551234", "19395551234"] {
            #expect(market(id) == "rest_of_latin_america", "\(id)")  // Dominican Republic, Jamaica, Puerto Rico
        }
        for id in ["18685551234", "12425550000", "12465550000", "14415550000"] {
            #expect(market(id) == "other", "\(id)")  // Trinidad and Tobago, Bahamas, Barbados, Bermuda: in no list
        }
    }

    @Test func theLongestCallingCodeWins() {
        #expect(market("1") == "north_america")
        #expect(market("18") == "north_america")
        #expect(market("180") == "north_america")
        #expect(market("1809") == "rest_of_latin_america")
        #expect(market("7") == "RU")
        #expect(market("73812345678") == "RU")
        #expect(market("74951234567") == "RU")
        #expect(market("77") == "KZ")
        #expect(market("76") == "KZ")
        #expect(market("77172123456") == "KZ")
        #expect(market("3") == "other")  // no calling code is 3
        #expect(market("35") == "other")
        #expect(market("351") == "rest_of_western_europe")
        #expect(market("352691123456") == "other")  // Luxembourg
        #expect(market("9607771234") == "other")  // Maldives
        #expect(market("0044791112345") == "other")  // no calling code starts with 0
    }

    @Test func businessScopedUserIDsTakeTheirCountrysMarket() {
        #expect(market("US.123") == "north_america")
        #expect(market("US.13491208655302741918") == "north_america")
        #expect(market("CA.1") == "north_america")
        #expect(market("IN.9") == "IN")
        #expect(market("KZ.1") == "KZ")
        #expect(market("RU.1") == "RU")
        #expect(market("DO.5") == "rest_of_latin_america")
        #expect(market("PT.5") == "rest_of_western_europe")
        #expect(market("TT.5") == "other")
        #expect(market("KR.5") == "other")
        #expect(market("ZZ.1") == "other")
        for id in ["us.1", "Us.1", "US.", "US.12a", "US..1", "US-1", "U.1", "USA.1", "US.+1", "US. 1", "US.١"] {
            #expect(market(id) == "other", "\(id)")
        }
    }

    @Test func anythingElseIsOther() {
        for id in ["", "abc", "+447911123456", " 447911123456", "447911123456 ", "44791 1123456", "44.7911",
                   "٤٤٧٩١١١٢٣٤٥٦", "４４７９１１１２３４５６", "91\u{0}1"] {
            #expect(market(id) == "other", "\(id.debugDescription)")
        }
    }

    @Test func marketNames() {
        #expect(Market.other.name == "other")
        #expect(Market.other.description == "other")
        #expect(Markets.market(ofCustomer: "919876543210").description == "IN")
        #expect(Markets.market(ofCustomer: "abc") == .other)
        #expect(Markets.market(ofCustomer: "919876543210") == Markets.market(ofCustomer: "IN.1"))
        #expect(Markets.market(ofCustomer: "919876543210") != Markets.market(ofCustomer: "447911123456"))
        let sorted = ["14155550000", "919876543210", "abc", "447911123456"].map { Markets.market(ofCustomer: $0) }.sorted()
        #expect(sorted.map(\.name) == ["GB", "IN", "north_america", "other"])

        for name in ["IN", "GB", "KZ", "north_america", "rest_of_africa", "rest_of_asia_pacific",
                     "rest_of_central_eastern_europe", "rest_of_latin_america", "rest_of_middle_east",
                     "rest_of_western_europe", "other"] {
            #expect(Markets.isMarket(name), "\(name)")
        }
        for name in ["in", "IN ", "", "ZZ", "KR", "US", "CA", "north america", "Other", "rest_of_europe"] {
            #expect(!Markets.isMarket(name), "\(name)")
        }
        #expect(Markets.names.count == 47)  // 39 countries, 7 groups, other: as on the 2026-10-01 rate card
    }
}

/// A row of MarketTable.swift, read as the Python model reads it.
private struct TableRow {
    let code: String, iso: String, market: String
}

private let groups: Set<String> = [
    "north_america", "rest_of_africa", "rest_of_asia_pacific", "rest_of_central_eastern_europe",
    "rest_of_latin_america", "rest_of_middle_east", "rest_of_western_europe", "other",
]

/// The rows between the marker lines of MarketTable.swift.
private func tableRows() throws -> [TableRow] {
    let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Sources/ConvoStore/Rules/MarketTable.swift").standardized.path
    let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
    let begin = try #require(lines.firstIndex(of: "// BEGIN MARKET TABLE"))
    let end = try #require(lines.firstIndex(of: "// END MARKET TABLE"))
    #expect(lines.filter { $0.contains("MARKET TABLE") }.count == 2, "each marker once, and nowhere else")
    let literal = lines[(begin + 1)..<end]
    #expect(literal.first == "\"\"\"" && literal.last == "\"\"\"", "the markers enclose the literal's delimiter lines")
    return try literal.dropFirst().dropLast().map { line in
        let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        try #require(fields.count == 3, "\(line.debugDescription)")
        return TableRow(code: fields[0], iso: fields[1], market: fields[2])
    }
}

@Suite struct MarketTableData {
    @Test func rowsAreWellFormed() throws {
        let rows = try tableRows()
        #expect(rows.count == 222)
        for row in rows {
            let code = Array(row.code.utf8), iso = Array(row.iso.utf8)
            #expect((1...4).contains(code.count) && code.allSatisfy { (48...57).contains($0) }, "\(row)")
            #expect(code.count < 4 || code[0] == UInt8(ascii: "1"), "4 digits only for NANP area codes: \(row)")
            #expect(iso.count == 2 && iso.allSatisfy { (65...90).contains($0) }, "\(row)")
            #expect(groups.contains(row.market) || row.market == row.iso, "a market is the row's country or a group: \(row)")
            #expect(Markets.isMarket(row.market), "\(row)")
        }
    }

    @Test func noCallingCodeTwiceAndOneMarketACountry() throws {
        let rows = try tableRows()
        #expect(Set(rows.map(\.code)).count == rows.count)
        let marketsOfCountry = Dictionary(grouping: rows, by: \.iso).mapValues { Set($0.map(\.market)) }
        for (iso, markets) in marketsOfCountry {
            #expect(markets.count == 1, "\(iso): \(markets)")
        }
    }

    @Test func namesAreTheTablesMarketsAndOther() throws {
        let rows = try tableRows()
        #expect(Markets.names == Set(rows.map(\.market)).union(["other"]))
    }

    /// Every row through the public lookup, against a plain longest-prefix scan of the rows.
    @Test func lookupAgreesWithTheRows() throws {
        let rows = try tableRows()
        func longestPrefix(_ id: String) -> String {
            rows.filter { id.hasPrefix($0.code) }.max { $0.code.count < $1.code.count }?.market ?? "other"
        }
        for row in rows {
            for id in [row.code, row.code + "0", row.code + "5550123", row.code + "99999999999"] {
                #expect(market(id) == longestPrefix(id), "\(id)")
            }
            #expect(market(row.iso + ".12345") == row.market, "\(row)")
        }
        // Every 1- to 4-digit prefix, and so every path through the arrays.
        for n in 0..<10_000 {
            for id in [String(n), "1" + String(n), String(n) + "12345678"] {
                #expect(market(id) == longestPrefix(id), "\(id)")
            }
        }
    }
}
