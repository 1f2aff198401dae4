/// Native dumps (JSON Lines, `docs/contract.md` "Native dump format") generated for tests:
/// deterministic, the same bytes on every run, written by hand so that TestSupport does not
/// depend on the library whose import they test.
public enum GeneratedDump {
    /// 2025-07-01T10:00:00Z, the first time in every generated dump.
    public static let start: Int64 = 1_751_364_000_000

    /// A dump of `lines` lines: messages in both directions over 17 businesses and 5,000
    /// customers, out of time order, every ninth a utility template, each with a text body; and
    /// a malformed line (an unterminated JSON object) wherever `n % 997 == 500`, counting lines
    /// from 0, so 60 of 60,000 lines are malformed.
    public static func withMalformedLines(lines: Int) -> String {
        var text = ""
        text.reserveCapacity(lines * 160)
        for n in 0..<lines {
            if n % 997 == 500 {
                text += #"{"type":"message","id":"broken-\#(n)""# + "\n"
                continue
            }
            let direction = n % 3 == 0 ? "out" : "in"
            let at = Self.start + Int64(n % 3000) * 60_000 + Int64(n / 3000)
            let kind = n % 9 == 0 ? #""kind":"template","category":"utility""# : #""kind":"text""#
            text += #"{"type":"message","id":"m\#(n)","business":"b\#(n % 17)","customer":"c\#(n * 7919 % 5000)","#
            text += #""direction":"\#(direction)","at":\#(at),\#(kind),"body":"body \#(n)"}"# + "\n"
        }
        return text
    }

    /// A dump of `lines` messages of `business`, all valid: alternately a reply and the inbound
    /// message it answers a minute earlier (so replies come before their questions), over 500
    /// customers, each with a body of `bodyBytes` bytes.
    public static func replyPairs(lines: Int, business: String, bodyBytes: Int = 20) -> String {
        var text = ""
        let body = String(repeating: "b", count: bodyBytes)
        for i in 0..<lines {
            let direction = i % 2 == 0 ? "out" : "in"
            let at = Self.start + Int64(i / 1_000) * 3_600_000 + (i % 2 == 0 ? 60_000 : 0)
            text += #"{"type":"message","id":"\#(business).\#(i)","business":"\#(business)","customer":"c\#((i / 2) % 500)","direction":"\#(direction)","at":\#(at),"body":"\#(body)"}"#
            text += "\n"
        }
        return text
    }
}
