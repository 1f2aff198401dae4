/// Entry points for the libFuzzer targets in `Fuzz/`: each takes arbitrary bytes and must return
/// (valid or not) without crashing, hanging or allocating without bound. Not part of the store's API: `@_spi(Fuzzing) import ConvoStore` reaches it.
@_spi(Fuzzing) public enum FuzzTargets {
    /// Parses one native dump line.
    @_spi(Fuzzing) public static func nativeLine(_ bytes: UnsafeRawBufferPointer) {
        _ = try? NativeDump.parse(bytes)
    }

    /// Parses one webhook delivery line.
    @_spi(Fuzzing) public static func webhookLine(_ bytes: UnsafeRawBufferPointer) {
        _ = try? WebhookArchive.parse(bytes)
    }

    /// Decodes the bytes as every stored record and key type (what a damaged data file would hand them).
    @_spi(Fuzzing) public static func records(_ bytes: UnsafeRawBufferPointer) {
        _ = try? ConversationRecord(decoding: bytes)
        if let message = try? MessageRecord(decoding: bytes) { _ = message.encoded() }
        _ = try? ChargeKey(decoding: bytes)
        _ = try? ChargeValue(decoding: bytes)
        _ = try? RateCardVersion(effectiveFrom: 0, decoding: bytes)
        _ = try? MessageKey(decoding: bytes)
        _ = try? Checkpoint(decoding: bytes)
        _ = try? PendingStatus(decoding: bytes)
        var reader = ByteReader(bytes, database: "fuzz")
        _ = try? reader.ordered()
        _ = try? reader.ordered()
    }
}

// MARK: The command line's time and id arguments (issue 11)

extension FuzzTargets {
    /// What the command line does with its `--before`, `--as-of`, `--at` ... and `--business`,
    /// `--customer` arguments, on arbitrary bytes, with the invariants that must hold; a broken one
    /// stops the process (libFuzzer reports it as a crash with the input). The bytes are read twice:
    /// whole, as one argument, and split at `\n` into up to four arguments (business, customer,
    /// message id, time; then a second business and customer for the key order).
    @_spi(Fuzzing) public static func arguments(_ bytes: UnsafeRawBufferPointer) {
        // argv reaches the command line as a String: invalid UTF-8 repaired, as CommandLine.arguments does.
        let whole = String(decoding: bytes, as: UTF8.self)
        Self.checkTimeArgument(whole)
        Self.checkIDArgument(whole)
        Self.checkDisplay(whole)
        let parts = bytes.split(separator: 0x0A, maxSplits: 5, omittingEmptySubsequences: false)
            .map { String(decoding: UnsafeRawBufferPointer(rebasing: $0), as: UTF8.self) }
        guard parts.count >= 2 else { return }
        for part in parts {
            Self.checkTimeArgument(part)
            Self.checkIDArgument(part)
        }
        let time = parts.count > 3 ? try? Timestamp.parseArgument(parts[3], field: "at") : nil
        Self.checkEvent(business: parts[0], customer: parts[1], id: parts.count > 2 ? parts[2] : "m", at: time ?? 0)
        Self.checkConversationKey(business: parts[0], customer: parts[1])
        if parts.count > 5 { Self.checkKeyOrder((parts[0], parts[1]), (parts[4], parts[5])) }
    }

    private static func violated(_ what: String, _ input: String) -> Never {
        fatalError("fuzz-arguments: \(what) (input \(Array(input.utf8).prefix(200)))")
    }

    /// `Timestamp.parseArgument`, as `Time.parse` of the command line calls it: an accepted time is in
    /// `Limits.times`, formats to RFC 3339 that parses back to itself, and equals what an independent
    /// reading of the same text gives; a refused one has a reason that is safe to print.
    private static func checkTimeArgument(_ text: String) {
        let expected = ReferenceTime.parse(text)
        do {
            let ms = try Timestamp.parseArgument(text, field: "time")
            guard Limits.times.contains(ms) else { violated("accepted time \(ms) outside Limits.times", text) }
            guard let expected else { violated("accepted \(ms), the reference reading refuses it", text) }
            guard expected == ms else { violated("parsed \(ms), the reference reading gives \(expected)", text) }
            let formatted = Timestamp.format(ms)
            guard (try? Timestamp.parseArgument(formatted, field: "time")) == ms else {
                violated("\(ms) formats as \(formatted), which does not parse back to it", text)
            }
            guard (try? Timestamp.parseArgument(String(ms), field: "time")) == ms else { violated("\(ms) as digits does not parse back", text) }
            guard Timestamp.parse(text) == ms else { violated("Timestamp.parse disagrees with parseArgument on \(ms)", text) }
        } catch {
            if let expected, Limits.times.contains(expected) {
                violated("refused (\(error)), the reference reading gives \(expected)", text)
            }
            Self.checkReason(error.description, text)
        }
    }

    /// `Limits.checkID`, as purge, erase and the reads check `--business` and `--customer`: accepted
    /// exactly when the id is 1 to 64 bytes; a message id, 1 to 128.
    private static func checkIDArgument(_ id: String) {
        let count = id.utf8.count
        for (limit, field) in [(Limits.partyIDBytes, "business"), (Limits.messageIDBytes, "id")] {
            do {
                try Limits.checkID(id, field: field, limit: limit)
                guard count >= 1, count <= limit else { violated("\(field) of \(count) bytes accepted (limit \(limit))", id) }
            } catch {
                guard count == 0 || count > limit else { violated("\(field) of \(count) bytes refused: \(error)", id) }
                Self.checkReason(error.description, id)
            }
        }
        // The market lookup runs on every outbound message's customer: any id, no trap, and its
        // recognisers agree with their documented forms.
        _ = Markets.market(ofCustomer: id)
        if CustomerID.isPhoneNumber(id) { guard id.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { violated("not digits, yet a phone number", id) } }
        if CustomerID.isUserID(id) {
            let b = Array(id.utf8)
            guard b.count >= 4, (0x41...0x5A).contains(b[0]), (0x41...0x5A).contains(b[1]), b[2] == 0x2E,
                  b[3...].allSatisfy({ (0x30...0x39).contains($0) })
            else { violated("not CC.digits, yet a user id", id) }
        }
    }

    /// What the command line prints of a value: no control or bidirectional character, cut after
    /// 80 characters, and unchanged when there was nothing to escape or cut.
    private static func checkDisplay(_ text: String) {
        let shown = Display.safe(text)
        Self.checkReason(shown, text)
        let plain = text.unicodeScalars.allSatisfy { !Self.mustNotReachATerminal($0) }
        if plain, text.unicodeScalars.count <= 80, shown != text { violated("a plain value was changed for display", text) }
        let quoted = Display.quoted(text)
        // By scalars: a combining mark at the value's start joins the quote in one Character.
        guard quoted.unicodeScalars.first == "\"", quoted.unicodeScalars.last == "\"" else { violated("quoted value not in quotes", text) }
    }

    /// A reason or a displayed value: nothing that drives a terminal, and bounded whatever the input.
    private static func checkReason(_ reason: String, _ input: String) {
        if let bad = reason.unicodeScalars.first(where: Self.mustNotReachATerminal) {
            violated("printed text holds U+\(String(bad.value, radix: 16)): \(reason.debugDescription)", input)
        }
        // 80 characters of the value, each escaped at most as \u{XXXXX}, and a sentence around it.
        guard reason.unicodeScalars.count <= 80 * 10 + 300 else { violated("printed text of \(reason.unicodeScalars.count) characters", input) }
    }

    private static func mustNotReachATerminal(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }

    /// A message and a control made of the arguments: accepted exactly when every field is within
    /// its limit.
    private static func checkEvent(business: String, customer: String, id: String, at: Int64) {
        let fits = (1...Limits.partyIDBytes).contains(business.utf8.count) && (1...Limits.partyIDBytes).contains(customer.utf8.count)
        let message = Message(id: id, business: business, customer: customer, direction: .outbound, at: at)
        let messageFits = fits && (1...Limits.messageIDBytes).contains(id.utf8.count)
        do {
            try Limits.validate(message)
            guard messageFits else { violated("a message breaking a limit was accepted", business + "\n" + customer + "\n" + id) }
        } catch {
            guard !messageFits else { violated("a message within every limit was refused: \(error)", business + "\n" + customer + "\n" + id) }
        }
        let control = Control(business: business, customer: customer, actor: .customer, action: .block, at: at)
        do {
            try Limits.validate(control)
            guard fits else { violated("a control breaking a limit was accepted", business + "\n" + customer) }
        } catch {
            guard !fits else { violated("a control within every limit was refused: \(error)", business + "\n" + customer) }
        }
    }

    /// A conversation's key decodes to its parties, whatever bytes (0x00 included) they hold, and the
    /// fast and the general reading of an id in a key agree.
    private static func checkConversationKey(business: String, customer: String) {
        let key = ConversationKey(business: business, customer: customer)
        let decoded = key.encoded.withUnsafeBytes { raw in try? ConversationKey(decoding: raw) }
        guard let decoded, decoded.business == key.business, decoded.customer == key.customer else {
            violated("conversation key does not decode to its parties", business + "\n" + customer)
        }
        key.encoded.withUnsafeBytes { raw in
            var fast = ByteReader(raw, database: "fuzz")
            var general = ByteReader(raw, database: "fuzz")
            for _ in 0..<2 {
                let a = try? fast.orderedString()
                let b = (try? general.ordered()).map { String(decoding: $0, as: UTF8.self) }
                guard a == b, fast.offset == general.offset else { violated("orderedString and ordered disagree", business + "\n" + customer) }
            }
        }
    }

    /// Keys sort as their (business, customer) pairs do, byte by byte: what every scan relies on.
    private static func checkKeyOrder(_ x: (String, String), _ y: (String, String)) {
        let kx = Keys.conversation(business: Array(x.0.utf8), customer: Array(x.1.utf8))
        let ky = Keys.conversation(business: Array(y.0.utf8), customer: Array(y.1.utf8))
        func order(_ a: [UInt8], _ b: [UInt8]) -> Int { a.lexicographicallyPrecedes(b) ? -1 : (a == b ? 0 : 1) }
        let byParties = order(Array(x.0.utf8), Array(y.0.utf8)) != 0 ? order(Array(x.0.utf8), Array(y.0.utf8)) : order(Array(x.1.utf8), Array(y.1.utf8))
        guard order(kx, ky) == byParties else { violated("keys sort otherwise than their parties", "\(x) \(y)") }
    }
}

/// An independent reading of a command-line time, written from the contract ("epoch milliseconds or
/// RFC 3339") rather than from Timestamp: ASCII digits, or `YYYY-MM-DD(T|t| )hh:mm:ss[.fraction](Z|z|+hh:mm|-hh:mm)`
/// (a leap second 60 read as 59, the fraction cut to milliseconds). Nil when the text is neither;
/// it may give a time outside Limits.times, which the parser must then refuse.
private enum ReferenceTime {
    static func parse(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        if !b.isEmpty, b.allSatisfy({ (0x30...0x39).contains($0) }) {
            var v: Int64 = 0
            for d in b {
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (s, o2) = m.addingReportingOverflow(Int64(d - 0x30))
                if o1 || o2 { return Int64.max }  // too large for any range: must be refused
                v = s
            }
            return v
        }
        // Fields at fixed places, then an optional fraction, then the zone.
        func number(_ range: Range<Int>) -> Int? {
            guard range.upperBound <= b.count, b[range].allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
            return b[range].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        guard b.count >= 20, let year = number(0..<4), b[4] == UInt8(ascii: "-"), let month = number(5..<7), b[7] == UInt8(ascii: "-"),
              let day = number(8..<10), [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(b[10]),
              let hour = number(11..<13), b[13] == UInt8(ascii: ":"), let minute = number(14..<16), b[16] == UInt8(ascii: ":"),
              let second = number(17..<19)
        else { return nil }
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard month >= 1, month <= 12, day >= 1, day <= monthDays[month - 1], hour <= 23, minute <= 59, second <= 60 else { return nil }
        var i = 19
        var millis = 0
        if b[i] == UInt8(ascii: ".") {
            let start = i + 1
            i = start
            while i < b.count, (0x30...0x39).contains(b[i]) { i += 1 }
            guard i > start else { return nil }
            for (k, d) in b[start..<min(i, start + 3)].enumerated() { millis += Int(d - 0x30) * [100, 10, 1][k] }
        }
        guard i < b.count else { return nil }
        var offsetMinutes = 0
        switch b[i] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard i + 1 == b.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard i + 6 == b.count, let oh = number(i + 1..<i + 3), b[i + 3] == UInt8(ascii: ":"), let om = number(i + 4..<i + 6), oh <= 23, om <= 59 else { return nil }
            offsetMinutes = (oh * 60 + om) * (b[i] == UInt8(ascii: "+") ? 1 : -1)
        default:
            return nil
        }
        // Days since 1970-01-01 by counting whole years and months (not Hinnant's algorithm).
        func leapYearsBefore(_ y: Int) -> Int { let p = y - 1; return p / 4 - p / 100 + p / 400 }
        var days = (year - 1970) * 365 + (leapYearsBefore(year) - leapYearsBefore(1970))
        for m in 0..<(month - 1) { days += monthDays[m] }
        days += day - 1
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + min(second, 59) - offsetMinutes * 60)
        let ms = seconds * 1000 + Int64(millis)
        return ms < 0 ? -1 : ms
    }
}
