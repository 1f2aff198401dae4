// Values from input or from the store shown to a person (error reasons, check reports, the command
// line's tables): never raw. Control characters would drive the terminal (an ESC sequence, a NUL,
// a newline that forges a line of output), bidirectional overrides would reorder what is read, and
// a 500 KB field would bury the message; so they are escaped, and long values cut.

/// Makes stored or rejected values safe to print.
package enum Display {
    /// `text` with control characters (C0, DEL, C1) and bidirectional controls written as `\u{1B}`,
    /// and cut after `limit` characters with its full length in bytes named.
    package static func safe(_ text: String, limit: Int = 80) -> String {
        var out = ""
        var shown = 0
        for scalar in text.unicodeScalars {
            if shown == limit {
                out += "… (\(text.utf8.count) bytes in all)"
                return out
            }
            if Self.mustEscape(scalar) {
                out += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            } else {
                out.unicodeScalars.append(scalar)
            }
            shown += 1
        }
        return out
    }

    /// ``safe(_:limit:)`` in double quotes, for a value inside a sentence.
    package static func quoted(_ text: String, limit: Int = 80) -> String {
        "\"" + Self.safe(text, limit: limit) + "\""
    }

    private static func mustEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true  // C0, DEL, C1
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true  // bidirectional marks and overrides
        default: false
        }
    }
}
