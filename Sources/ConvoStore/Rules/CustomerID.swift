// The two forms a customer id takes (docs/domain.md, "Parties and ids"): a phone number (digits,
// E.164 without `+`) or, since 2026, a business-scoped user id `CC.digits` (`US.13491208655302741918`).

/// Recognises the forms of a customer id.
public enum CustomerID {
    /// Whether `id` is a business-scoped user id: two upper-case ASCII letters, a dot, digits.
    public static func isUserID(_ id: String) -> Bool {
        let bytes = id.utf8
        guard bytes.count >= 4 else { return false }
        var i = bytes.startIndex
        for _ in 0..<2 {
            guard (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(bytes[i]) else { return false }
            i = bytes.index(after: i)
        }
        guard bytes[i] == UInt8(ascii: ".") else { return false }
        i = bytes.index(after: i)
        return bytes[i...].allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// Whether `id` is a phone number: digits only.
    public static func isPhoneNumber(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }
}
